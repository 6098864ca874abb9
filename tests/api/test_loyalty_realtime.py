"""Real-time earning: tracked events earn at once, and the nightly stage does not earn twice."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.auth import service
from tenure.db.session import session_scope
from tenure.events.service import sync_inbox
from tenure.loyalty import ledger
from tenure.loyalty.models import LoyaltyEnrolment, LoyaltyMovement
from tenure.loyalty.service import load_program
from tenure.loyalty.stage import loyalty_points
from tenure.stage import StageContext
from tenure.warehouse.connection import open_warehouse

from ..factories import add_account

PROGRAM = """
name = "rt"
point_value_minor = 1
approval_threshold = 10000
holdout_fraction = 0.0
starts_on = 2025-06-02
[[rules]]
key = "weekly_login"
event = "login"
points = 10
cooldown_days = 7
[[rules]]
key = "exports"
event = "export_run"
points = 5
max_per_month = 2
[[tiers]]
key = "member"
name = "Member"
qualifying_points = 0
"""


def _track(message_id: str, name: str, day: int, hour: int, account: str = "ACME") -> dict:
    return {"type": "track", "messageId": message_id, "event": name, "userId": "u1",
            "properties": {"account_id": account},
            "timestamp": datetime(2025, 6, day, hour, tzinfo=UTC).isoformat()}  # fmt: skip


def _setup(engine: Any, tmp_path) -> tuple[int, str]:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    with session_scope(engine) as session:
        member = add_account(session, "ACME")
        add_account(session, "OTHER")  # not enrolled yet: earns only once the stage enrols it
        load_program(session, path)
        session.add(LoyaltyEnrolment(account_id=member.id, arm="member",
                                     enrolled_at=datetime(2025, 6, 1, tzinfo=UTC)))  # fmt: skip
        _, key = service.create_write_key(session, "web")
        return member.id, key


def _earned(engine: Any) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        query = sa.select(LoyaltyMovement.source_key, LoyaltyMovement.actor).where(
            LoyaltyMovement.kind == "earn"
        )
        return sorted((k, a) for k, a in session.execute(query))


def test_tracked_events_earn_at_once_and_the_stage_adds_nothing(
    client: TestClient, app_engine: Any, app_settings: Any, tmp_path, frozen_clock
) -> None:
    account, key = _setup(app_engine, tmp_path)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    batch = [_track("a1", "login", 2, 9), _track("a2", "login", 5, 9),  # cooling down
             _track("a3", "export_run", 3, 9), _track("a4", "export_run", 3, 10),
             _track("a5", "export_run", 4, 9),  # monthly cap of 2
             _track("o1", "login", 2, 9, "OTHER"), _track("a6", "page_viewed", 2, 9)]  # fmt: skip
    assert client.post("/v1/batch", json={"batch": batch}, headers=auth).status_code == 200
    later = client.post("/v1/track", json=_track("a7", "login", 9, 10), headers=auth)
    assert later.status_code == 200
    client.post("/v1/batch", json={"batch": batch}, headers=auth)  # a retry earns nothing
    expected = [("event:a1:weekly_login", "tracking"), ("event:a3:exports", "tracking"),
                ("event:a4:exports", "tracking"), ("event:a7:weekly_login", "tracking")]  # fmt: skip
    assert _earned(app_engine) == expected
    with session_scope(app_engine) as session:
        assert ledger.wallet_balance(session, account) == 30
    with open_warehouse(app_settings) as warehouse:
        sync_inbox(engine=app_engine, warehouse=warehouse)
    summary = loyalty_points(StageContext(app_settings, app_engine, date(2025, 6, 10)))
    assert summary["earnings"] == 1  # OTHER's login; none of ACME's again
    assert _earned(app_engine) == sorted([*expected, ("event:o1:weekly_login", "pipeline")])
    reversal = _track("r1", "export_undone", 10, 9) | {"properties": {
        "account_id": "ACME", "reverses_message_id": "a3"}}  # fmt: skip
    assert client.post("/v1/track", json=reversal, headers=auth).status_code == 200
    with session_scope(app_engine) as session:
        assert ledger.wallet_balance(session, account) == 25  # a3's 5 points clawed back


def test_a_late_event_within_a_cool_down_is_not_earned_twice(
    client: TestClient, app_engine: Any, app_settings: Any, tmp_path, frozen_clock
) -> None:
    _setup(app_engine, tmp_path)
    with session_scope(app_engine) as session:
        _, key = service.create_write_key(session, "late")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    client.post("/v1/track", json=_track("b1", "login", 5, 9), headers=auth)
    client.post("/v1/track", json=_track("b0", "login", 2, 9), headers=auth)  # late, 3 days before
    with open_warehouse(app_settings) as warehouse:
        sync_inbox(engine=app_engine, warehouse=warehouse)
    loyalty_points(StageContext(app_settings, app_engine, date(2025, 6, 10)))
    assert _earned(app_engine) == [("event:b1:weekly_login", "tracking")]
