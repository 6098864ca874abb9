"""Validly signed Stripe events with nonsense in them are a 400 naming the field, never a 500."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.accounts.models import Account, Invoice, Subscription
from tenure.auth.models import StripeEvent
from tenure.billing.stripe import sign
from tenure.db.session import session_scope

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
SECRET = "whsec_test_secret"


def _event(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_bytes())


def _post(client: TestClient, event: dict[str, Any]):
    payload = json.dumps(event).encode()
    now = int(time.time())
    header = f"t={now},v1={sign(payload, SECRET, now)}"
    return client.post(
        "/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Return a copy of event with the dotted path (list indexes as digits) set to value."""
    edited = copy.deepcopy(event)
    *parents, last = path.split(".")
    node: Any = edited
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return edited


ITEM = "data.object.items.data.0"
CASES = [
    ("01_customer_created.json", "data", "not an object", "data"),
    ("01_customer_created.json", "data.object.metadata", "vip", "data.object.metadata"),
    ("02_subscription_created.json", "data.object.items", [1, 2], "data.object.items"),
    ("02_subscription_created.json", f"{ITEM}.quantity", 10**30, f"{ITEM}.quantity"),
    ("02_subscription_created.json", f"{ITEM}.quantity", "5", f"{ITEM}.quantity"),
    ("02_subscription_created.json", f"{ITEM}.price.unit_amount", 10**30, "unit_amount"),
    ("02_subscription_created.json", "data.object.currency", "zzz", "data.object.currency"),
    ("02_subscription_created.json", f"{ITEM}.price.currency", "zzz", "price.currency"),
    ("02_subscription_created.json", "data.object.start_date", 10**15, "start_date"),
    ("03_invoice_paid.json", "data.object.amount_paid", "lots", "data.object.amount_paid"),
    ("03_invoice_paid.json", "data.object.created", 1e300, "data.object.created"),
    ("03_invoice_paid.json", "data.object.currency", "zzz", "data.object.currency"),
    ("03_invoice_paid.json", "data.object.status_transitions", "paid", "status_transitions"),
    ("03_invoice_paid.json", "created", 10**20, "created"),
]


@pytest.mark.parametrize("fixture, path, value, named", CASES)
def test_bad_payload_is_400_naming_the_field(
    client: TestClient, app_engine: Any, fixture: str, path: str, value: Any, named: str
) -> None:
    """Each signed but malformed event is a problem+json 400 with the field path; nothing lands."""
    response = _post(client, _set(_event(fixture), path, value))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]
    with session_scope(app_engine) as session:
        for model in (Account, Subscription, Invoice, StripeEvent):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_many_items_whose_mrr_overflows_are_400(client: TestClient, app_engine: Any) -> None:
    """Items each in range but together past any real MRR are a 400, not a database error."""
    event = _event("02_subscription_created.json")
    item = event["data"]["object"]["items"]["data"][0]
    item["quantity"], item["price"]["unit_amount"] = 10**9, 10**15
    item["price"]["recurring"]["interval"] = "month"
    response = _post(client, event)
    assert response.status_code == 400 and "data.object.items" in response.json()["detail"]


def test_a_valid_iso_currency_without_a_rate_is_accepted(
    client: TestClient, app_engine: Any
) -> None:
    """JPY is a real currency: the subscription lands (the metrics exclude it until it has a rate)."""
    event = _set(_event("02_subscription_created.json"), "data.object.currency", "jpy")
    event = _set(event, f"{ITEM}.price.currency", "jpy")
    assert _post(client, event).status_code == 200
    with session_scope(app_engine) as session:
        assert session.scalar(sa.select(Subscription.currency)) == "JPY"
