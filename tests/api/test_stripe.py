"""Stripe webhooks: signature checks (good, bad, stale), idempotency, effect on the tables."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.accounts.models import Account, Invoice, Subscription
from tenure.auth.models import StripeEvent
from tenure.billing.stripe import sign, subscription_terms
from tenure.db.session import session_scope

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
SECRET = "whsec_test_secret"


def _payload(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _post(client: TestClient, payload: bytes, *, at: int | None = None, secret: str = SECRET):
    timestamp = int(time.time()) if at is None else at
    header = f"t={timestamp},v1={sign(payload, secret, timestamp)}"
    return client.post(
        "/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def _replay_all(client: TestClient) -> list[dict[str, Any]]:
    return [_post(client, _payload(f.name)).json() for f in sorted(FIXTURES.glob("*.json"))]


def _epoch(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def test_signature_good_bad_and_stale(client: TestClient, app_engine: Any) -> None:
    """Only a fresh signature by the configured secret is accepted; others are 400 and ignored."""
    payload = _payload("01_customer_created.json")
    wrong_secret = _post(client, payload, secret="whsec_other")
    stale = _post(client, payload, at=int(time.time()) - 301)
    future = _post(client, payload, at=int(time.time()) + 301)
    tampered = payload.replace(b"Northwind", b"Southwind")
    header = f"t={int(time.time())},v1={sign(payload, SECRET, int(time.time()))}"
    edited = client.post(
        "/v1/webhooks/stripe", content=tampered, headers={"Stripe-Signature": header}
    )
    missing = client.post("/v1/webhooks/stripe", content=payload)
    for response in (wrong_secret, stale, future, edited, missing):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert "tolerance" in stale.json()["detail"]
    assert "Stripe-Signature" in missing.json()["detail"]
    with session_scope(app_engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
    good = _post(client, payload)
    assert good.status_code == 200 and good.json()["duplicate"] is False


def test_several_v1_signatures_any_may_match(client: TestClient) -> None:
    """During secret rotation Stripe sends one v1 per secret; one match is enough."""
    payload = _payload("01_customer_created.json")
    now = int(time.time())
    header = f"t={now},v1={'0' * 64},v1={sign(payload, SECRET, now)},v0=abc"
    response = client.post(
        "/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": header}
    )
    assert response.status_code == 200


def test_events_apply_to_accounts_subscriptions_invoices(
    client: TestClient, app_engine: Any
) -> None:
    """A customer's life from creation to deletion lands in the canonical tables."""
    outcomes = _replay_all(client)
    assert all(not o["duplicate"] for o in outcomes)
    with session_scope(app_engine) as session:
        account = session.scalar(sa.select(Account))
        periods = session.scalars(sa.select(Subscription).order_by(Subscription.started_at)).all()
        invoices = {i.external_id: i for i in session.scalars(sa.select(Invoice))}
        assert (account.external_id, account.name) == ("ACC-0042", "Northwind Traders")
        assert account.owner == "dana@tenure.example"
        assert account.attributes["stripe_customer_id"] == "cus_RaT9mQ2xLk81Zd"
        assert "stripe_deleted_at" in account.attributes
        # 5 seats × EUR 1,200 a year = EUR 500.00 a month; then 8 seats = EUR 800.00
        assert [(p.mrr, p.quantity, p.currency) for p in periods] == [
            (50_000, 5, "EUR"),
            (80_000, 8, "EUR"),
        ]
        assert periods[0].started_at == _epoch(1750150858)
        assert periods[0].ended_at == periods[1].started_at == _epoch(1752829200)
        assert (periods[1].status, periods[1].ended_at) == ("canceled", _epoch(1758185990))
        assert periods[0].plan == "Growth (yearly)"
        paid = invoices["in_1QhR2eKZ8mWq3T0cInv00001"]
        failed = invoices["in_1QnV3iKZ8mWq3T0cInv00002"]
        assert (paid.status, paid.amount, paid.paid_at) == ("paid", 600_000, _epoch(1750150866))
        assert (failed.status, failed.amount, failed.paid_at) == ("failed", 96_000, None)
        assert failed.subscription_external_id == "sub_1QhR2eKZ8mWq3T0cQw7Yt5Ur"


def test_redelivery_changes_nothing(client: TestClient, app_engine: Any) -> None:
    """Stripe retries: the same events again are acknowledged as duplicates and not re-applied."""
    _replay_all(client)

    def snapshot() -> tuple:
        with session_scope(app_engine) as session:
            subs = session.execute(
                sa.select(Subscription.external_id, Subscription.mrr, Subscription.ended_at)
            ).all()
            invoices = session.execute(sa.select(Invoice.external_id, Invoice.status)).all()
            events = session.scalar(sa.select(sa.func.count()).select_from(StripeEvent))
        return sorted(subs), sorted(invoices), events

    before = snapshot()
    again = _replay_all(client)
    assert all(o["duplicate"] for o in again)
    assert snapshot() == before and before[2] == 7


def test_subscription_before_customer_creates_a_placeholder(
    client: TestClient, app_engine: Any
) -> None:
    """Out-of-order delivery: the subscription lands on a placeholder the customer then fills."""
    _post(client, _payload("02_subscription_created.json"))
    event = json.loads(_payload("01_customer_created.json"))
    event["data"]["object"]["metadata"] = {}
    _post(client, json.dumps(event).encode())
    with session_scope(app_engine) as session:
        accounts = session.scalars(sa.select(Account)).all()
        assert [(a.external_id, a.name) for a in accounts] == [
            ("cus_RaT9mQ2xLk81Zd", "Northwind Traders")
        ]
        assert session.scalar(sa.select(Subscription.account_id)) == accounts[0].id


def test_unknown_event_types_are_acknowledged_and_ignored(client: TestClient) -> None:
    """Events Tenure does not apply are acknowledged (so Stripe stops retrying)."""
    event = {"id": "evt_other", "type": "charge.dispute.created", "created": 1750150800, "data": {}}
    response = _post(client, json.dumps(event).encode())
    assert response.status_code == 200 and response.json()["outcome"].startswith("ignored")
    broken = _post(client, b"{not json")
    assert broken.status_code == 400 and "not JSON" in broken.json()["detail"]


def test_monthly_normalisation_of_intervals() -> None:
    """Weekly, quarterly and yearly prices become monthly MRR; quantities multiply."""

    def sub(interval: str, count: int, amount: int, quantity: int) -> dict[str, Any]:
        price = {"unit_amount": amount, "currency": "usd", "id": "p", "recurring": {}}
        price["recurring"] = {"interval": interval, "interval_count": count}
        return {"currency": "usd", "items": {"data": [{"price": price, "quantity": quantity}]}}

    assert subscription_terms(sub("month", 3, 30_000, 1))[0] == 10_000
    assert subscription_terms(sub("year", 1, 12_000, 2))[0] == 2_000
    assert subscription_terms(sub("week", 1, 1_200, 1))[0] == round(1_200 * 52 / 12)


def test_placeholder_adopts_the_crm_account_id(client: TestClient, app_engine: Any) -> None:
    """A placeholder made by an early subscription takes metadata.account_id once it arrives."""
    _post(client, _payload("02_subscription_created.json"))
    _post(client, _payload("01_customer_created.json"))
    with session_scope(app_engine) as session:
        accounts = session.scalars(sa.select(Account)).all()
        assert [a.external_id for a in accounts] == ["ACC-0042"]
        assert session.scalar(sa.select(Subscription.account_id)) == accounts[0].id
