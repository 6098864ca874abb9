"""The dashboard's live stream masks the people in alert messages for roles that may not see them.

/live never ends, so the route walk skips it; this drives its event generator directly with
the alert notification the alert service publishes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.notifications import Notification
from tenure.web.live import notification_events
from tenure.web.session import Viewer

from ..factories import add_account, add_contact

NAME, EMAIL, CSM = "Zelda Quixote", "zelda.quixote@privacy-test.org", "csm@example.com"
MESSAGE = f"NPS detractor: “{NAME} here, write to {EMAIL}”"


class _Request:
    """Connected for one round of the stream's loop, then gone."""

    def __init__(self) -> None:
        self.rounds = 0

    async def is_disconnected(self) -> bool:
        self.rounds += 1
        return self.rounds > 1


class _Subscription:
    def __init__(self, notes: list[Notification]) -> None:
        self.notes = notes

    def drain(self) -> list[Notification]:
        notes, self.notes = self.notes, []
        return notes

    def close(self) -> None:
        """Nothing to release."""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, int]]:
    """Yield an app DB with the person's account (owned by CSM) and its id."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("live") / "data")
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        account = add_account(session, "acme-live", name="Acme Live", owner=CSM)
        add_contact(session, account, external_id="c-live", email=EMAIL, name=NAME)
        account_id = account.id
    yield engine, account_id
    engine.dispose()


async def _stream(engine: sa.Engine, account_id: int, viewer: Viewer) -> list[dict]:
    payload = {"alert_id": 1, "rule": "nps", "owner": CSM, "message": MESSAGE, "status": "open"}
    notes = [Notification("alert_opened", account_id, payload)]
    events = notification_events(_Request(), _Subscription(notes), engine, viewer,
                                 asyncio.Event())  # fmt: skip
    return [json.loads(e["data"]) async for e in events if e["event"] == "alert_opened"]


@pytest.mark.parametrize(("role", "email", "masked"), [
    ("viewer", "viewer@example.com", True), ("analyst", "analyst@example.com", True),
    ("manager", "manager@example.com", False), ("csm", CSM, False),
])  # fmt: skip
def test_live_alerts_mask_people_for_roles_that_may_not_see_them(book, role, email, masked):
    engine, account_id = book
    viewer = Viewer(user_id=1, email=email, role=role, session_id="s", csrf="c")
    [event] = asyncio.run(_stream(engine, account_id, viewer))
    text = json.dumps(event)
    if masked:
        assert "Zelda" not in text and "Quixote" not in text and EMAIL not in text
        assert "Z*** Q***" in event["text"] and "z***@privacy-test.org" in event["text"]
        assert event["payload"]["owner"] == CSM  # staff, not a customer's person
    else:
        assert NAME in event["text"] and EMAIL in event["payload"]["message"]
