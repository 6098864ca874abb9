"""Accounts list (filters, sort, pages), account 360 and the prediction API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.db.session import session_scope
from tenure.segments.models import Segment, SegmentMembership


@pytest.fixture
def book(app_engine: Any, make_account: Any) -> dict[str, int]:
    """Three accounts: a big red USD one, a small green EUR one, an unscored one."""
    with session_scope(app_engine) as session:
        big = make_account(
            session,
            "BIG",
            name="Globex",
            owner="Dana@x.com",
            mrr=250_000,
            health=(31.5, "red"),
            churn=(0.72, "high"),
        )
        small = make_account(
            session,
            "SMALL",
            name="Initech",
            mrr=10_000,
            currency="EUR",
            health=(88.0, "green"),
            churn=(0.05, "low"),
        )
        bare = make_account(session, "BARE", name="Umbrella", mrr=50_000)
        segment = Segment(
            name="enterprise",
            kind="rule",
            rule="mrr > 1000",
            created_at=datetime(2025, 6, 1, tzinfo=UTC),
        )
        session.add(segment)
        session.flush()
        session.add(
            SegmentMembership(segment_id=segment.id, account_id=big.id, as_of=date(2025, 6, 29))
        )
        return {"big": big.id, "small": small.id, "bare": bare.id}


def _names(client: TestClient, headers: dict, query: str) -> list[str]:
    response = client.get(f"/v1/accounts{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_filters_and_sorts(client: TestClient, role_headers: Any, book: dict) -> None:
    """Each filter narrows the list; sorts order it; MRR is converted to the reporting currency."""
    h = role_headers["viewer"]
    assert _names(client, h, "") == ["Globex", "Initech", "Umbrella"]
    assert _names(client, h, "?tier=red") == ["Globex"]
    assert _names(client, h, "?risk=low") == ["Initech"]
    assert _names(client, h, "?owner=dana@x.com") == ["Globex"]
    assert _names(client, h, "?q=tech") == ["Initech"]
    assert _names(client, h, "?q=BAR") == ["Umbrella"]  # external id matches too
    assert _names(client, h, "?segment=enterprise") == ["Globex"]
    assert _names(client, h, "?mrr_min=200&mrr_max=1000") == ["Umbrella"]
    assert _names(client, h, "?sort=-mrr") == ["Globex", "Umbrella", "Initech"]
    assert _names(client, h, "?sort=-churn") == ["Globex", "Initech", "Umbrella"]  # nulls last
    assert _names(client, h, "?sort=health") == ["Globex", "Initech", "Umbrella"]
    items = client.get("/v1/accounts?sort=-mrr", headers=h).json()["items"]
    default = client.get("/v1/accounts", headers=h).json()["items"]
    assert {i["name"]: i["mrr"] for i in items} == {i["name"]: i["mrr"] for i in default}
    assert {i["name"]: i["mrr"] for i in items} == {
        "Globex": 2500.0,
        "Umbrella": 500.0,
        "Initech": 103.5,  # EUR 100.00 at 1.035 USD
    }


def test_pages_carry_the_total(client: TestClient, role_headers: Any, book: dict) -> None:
    """limit/offset page the list; total counts every match."""
    page = client.get("/v1/accounts?limit=2&offset=2", headers=role_headers["viewer"]).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 2)
    assert [i["name"] for i in page["items"]] == ["Umbrella"]


def test_account_360(client: TestClient, role_headers: Any, book: dict) -> None:
    """The 360 view has the profile, MRR history, scores with reasons, tickets."""
    view = client.get(f"/v1/accounts/{book['big']}", headers=role_headers["analyst"]).json()
    assert view["profile"]["name"] == "Globex" and view["profile"]["attributes"]
    assert view["mrr_history"][-1]["mrr"] == 2500.0
    assert all(p["mrr"] in (0.0, 2500.0) for p in view["mrr_history"])
    assert view["health"]["tier"] == "red" and view["health"]["reason"] == "logins fell"
    assert view["health_history"] == [
        {"as_of": "2025-06-29", "score": 31.5, "tier": "red", "reason": "logins fell"}
    ]
    assert view["churn"]["reasons"][0]["feature"] == "logins_30d"
    assert view["churn"]["model_version"] == "churn-v3"
    assert [t["subject"] for t in view["tickets"]] == ["Export broken"]
    assert view["subscriptions"][0]["currency"] == "USD" and view["alerts"] == []


def test_score_and_batch(client: TestClient, role_headers: Any, book: dict) -> None:
    """One score, many scores by id or external id, not-found ids listed, unscored is null."""
    h = role_headers["viewer"]
    one = client.get(f"/v1/accounts/{book['big']}/score", headers=h).json()
    assert one["external_id"] == "BIG"
    assert (one["health"]["score"], one["health"]["as_of"]) == (31.5, "2025-06-29")
    assert (one["churn"]["probability"], one["churn"]["horizon_days"]) == (0.72, 90)
    reason = {"feature": "logins_30d", "value": 2.0, "contribution": 0.4, "text": "logins 30d 2"}
    assert one["churn"]["reasons"] == [reason]  # the stored triple, worded on read
    bare = client.get(f"/v1/accounts/{book['bare']}/score", headers=h).json()
    assert bare["health"] is None and bare["churn"] is None
    batch = client.post(
        "/v1/scores:batch",
        json={"ids": [book["small"], 424242], "external_ids": ["BIG", "NOPE"]},
        headers=h,
    ).json()
    by_external = {s["external_id"]: s for s in batch["scores"]}
    assert set(by_external) == {"BIG", "SMALL"}
    assert by_external["SMALL"]["churn"]["risk_tier"] == "low"
    assert by_external["BIG"]["health"] == one["health"]
    assert batch["not_found"] == ["424242", "NOPE"]
