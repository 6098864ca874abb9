"""The core flows on PostgreSQL: login and lock-out, scores, tracking dedupe, Stripe replay."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.accounts.models import Subscription
from tenure.api.app import create_app
from tenure.auth import service
from tenure.billing.stripe import sign
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.events.models import InboxEvent

pytestmark = pytest.mark.postgres
FIXTURES = Path(__file__).parent / "fixtures" / "stripe"


@pytest.fixture
def pg(tmp_path: Path, pg_url: str) -> Iterator[tuple[TestClient, sa.Engine]]:
    """Yield a client and engine of an app on a fresh PostgreSQL schema."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=pg_url,
        secret_key="pg-signing-key-" + "z" * 32,
        secure_cookies=False,
        stripe_webhook_secret="whsec_pg",
    )
    engine = get_engine(settings)
    migrate(engine)
    app = create_app(settings, dashboard=False)
    with TestClient(app) as client:
        yield client, engine
    app.state.engine.dispose()
    engine.dispose()


def test_login_lockout_and_scores(pg: tuple[TestClient, sa.Engine], make_account: Any) -> None:
    """Log in, read a score, and get locked out after five failures — on PostgreSQL."""
    client, engine = pg
    with session_scope(engine) as session:
        service.create_user(session, "pg@example.com", "a long password 1", "viewer")
        account_id = make_account(session, "PG1", health=(55, "yellow"), churn=(0.3, "medium")).id
    form = {"grant_type": "password", "username": "pg@example.com", "password": "a long password 1"}
    token = client.post("/v1/auth/token", data=form).json()["access_token"]
    score = client.get(
        f"/v1/accounts/{account_id}/score", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert (score["health"]["tier"], score["churn"]["probability"]) == ("yellow", 0.3)
    assert score["churn"]["reasons"][0]["text"] == "logins 30d 2"  # jsonb triple, worded on read
    listed = client.get("/v1/accounts?q=pg1", headers={"Authorization": f"Bearer {token}"})
    assert listed.json()["total"] == 1
    for _ in range(5):
        client.post("/v1/auth/token", data={**form, "password": "wrong wrong"})
    assert client.post("/v1/auth/token", data=form).status_code == 401


def test_tracking_dedupe(pg: tuple[TestClient, sa.Engine]) -> None:
    """Duplicate messageIds are ignored on PostgreSQL's ON CONFLICT path too."""
    client, engine = pg
    with session_scope(engine) as session:
        _, key = service.create_write_key(session, "pg")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    message = {"type": "track", "messageId": "x1", "event": "Login", "context": {"groupId": "A"}}
    batch = {"batch": [message, {**message, "messageId": "x2"}, message]}
    assert client.post("/v1/batch", json=batch, headers=auth).json()["accepted"] == 2
    assert client.post("/v1/batch", json=batch, headers=auth).json()["duplicates"] == 3
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(InboxEvent)) == 2


def test_stripe_replay(pg: tuple[TestClient, sa.Engine]) -> None:
    """The recorded Stripe events apply once on PostgreSQL, JSON lookups included."""
    client, engine = pg
    for _ in range(2):
        for path in sorted(FIXTURES.glob("*.json")):
            payload = path.read_bytes()
            now = int(time.time())
            header = f"t={now},v1={sign(payload, 'whsec_pg', now)}"
            response = client.post(
                "/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": header}
            )
            assert response.status_code == 200, response.text
    with session_scope(engine) as session:
        mrr = session.scalars(sa.select(Subscription.mrr).order_by(Subscription.started_at)).all()
    assert mrr == [50_000, 80_000]


def test_values_postgresql_cannot_hold_are_a_422_not_a_500(
    pg: tuple[TestClient, sa.Engine],
) -> None:
    """An id beyond PostgreSQL's integer range or a NUL byte in text is bad input, not a crash."""
    client, engine = pg
    with session_scope(engine) as session:
        service.create_user(session, "nul@example.com", "a long password 1", "admin")
    form = {
        "grant_type": "password",
        "username": "nul@example.com",
        "password": "a long password 1",
    }
    token = client.post("/v1/auth/token", data=form).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    too_big = client.get(f"/v1/accounts/{2**31}", headers=bearer)
    assert too_big.status_code == 422, too_big.text
    assert "out of range" in too_big.json()["detail"]
    nul = client.get("/v1/accounts", params={"q": "a\x00b"}, headers=bearer)
    assert nul.status_code == 422, nul.text
    assert "NUL" in nul.json()["detail"]
    assert client.get("/v1/accounts", params={"q": "ab"}, headers=bearer).status_code == 200
