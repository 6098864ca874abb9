"""The API hands what it committed to the app's health refresher: tracking calls and Stripe."""

from __future__ import annotations

import base64
import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure import clock
from tenure.auth import service
from tenure.billing.stripe import sign
from tenure.db.session import session_scope
from tenure.health.models import HealthRefreshQueue, HealthScore
from tenure.notifications import get_bus

from .test_stripe import SECRET, _payload


def _today_score(engine: Any, account_id: int) -> HealthScore | None:
    with session_scope(engine) as session:
        query = sa.select(HealthScore).where(
            HealthScore.account_id == account_id, HealthScore.as_of == clock.now().date()
        )
        return session.scalar(query)


def _queued(engine: Any) -> list[int]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(HealthRefreshQueue.account_id)))


def test_a_track_call_refreshes_today_score_through_the_app_refresher(
    client: TestClient, app_engine: Any, make_account: Any
) -> None:
    """/v1/track → inbox, roll-up and queue row → app.state.refresher → today's score."""
    with session_scope(app_engine) as session:
        account_id = make_account(session, "LIVE").id
        _, key = service.create_write_key(session, "website")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    with get_bus().subscribe() as notes:
        for name in ("login", "report_viewed", "export_run"):
            body = {"event": name, "userId": "u1", "context": {"groupId": "LIVE"}}
            assert client.post("/v1/track", json=body, headers=auth).status_code == 200
        assert client.app.state.refresher.flush(timeout=30)
        kinds = {n.kind for n in notes.drain() if n.account_id == account_id}
    row = _today_score(app_engine, account_id)
    assert row is not None and row.measures["usage_breadth"]["value"] == 3
    assert row.measures["login_recency"]["value"] == 0
    assert _queued(app_engine) == []
    assert "events_recorded" in kinds


def test_a_stripe_subscription_event_refreshes_the_account_score(
    client: TestClient, app_engine: Any
) -> None:
    """A subscription webhook changes seats and MRR, so the account's score for today follows."""
    for name in ("01_customer_created.json", "02_subscription_created.json"):
        payload, now = _payload(name), int(time.time())
        header = f"t={now},v1={sign(payload, SECRET, now)}"
        response = client.post(
            "/v1/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
    assert client.app.state.refresher.flush(timeout=30)
    with session_scope(app_engine) as session:
        account_id = session.scalar(sa.text("SELECT id FROM account"))
    row = _today_score(app_engine, account_id)
    assert row is not None
    assert row.measures["seat_utilisation"]["value"] == 0  # seats from Stripe, no users yet
    assert _queued(app_engine) == []
