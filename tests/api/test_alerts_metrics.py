"""Alert actions over the API (with history and audit) and the stored metrics endpoints."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.alerts import flows
from tenure.alerts.models import Alert, AlertRule
from tenure.alerts.routing import Routing
from tenure.db.session import session_scope
from tenure.metrics.models import MetricsMonth, MetricsSnapshot


@pytest.fixture
def alert_id(app_engine: Any, make_account: Any) -> int:
    """Return an open alert on an account owned by the csm user."""
    now = datetime(2025, 6, 30, tzinfo=UTC)
    with session_scope(app_engine) as session:
        account = make_account(session, "AL1", owner="csm@example.com")
        alert = Alert(
            account_id=account.id,
            rule="health-red",
            kind="tier_change",
            severity="high",
            owner="csm@example.com",
            status="open",
            message="Health tier fell to red",
            facts={},
            opened_at=now,
            updated_at=now,
        )
        session.add(alert)
        session.flush()
        return alert.id


def test_alert_lifecycle_is_recorded_and_audited(
    client: TestClient, role_headers: Any, alert_id: int
) -> None:
    """ack → snooze → resolve by the owning csm; each step in the history and the audit log."""
    csm = role_headers["csm"]
    assert client.post(f"/v1/alerts/{alert_id}/ack", headers=csm).json()["status"] == "acknowledged"
    snoozed = client.post(f"/v1/alerts/{alert_id}/snooze", json={"hours": 24}, headers=csm).json()
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"]
    assert client.post(f"/v1/alerts/{alert_id}/resolve", headers=csm).json()["status"] == "resolved"
    again = client.post(f"/v1/alerts/{alert_id}/resolve", headers=csm)
    assert again.status_code == 409 and "already resolved" in again.json()["detail"]
    assert again.headers["content-type"] == "application/problem+json"
    for action in ("ack", "snooze"):
        body = {"hours": 1} if action == "snooze" else None
        late = client.post(f"/v1/alerts/{alert_id}/{action}", json=body, headers=csm)
        assert (late.status_code, late.json()["status"]) == (409, 409)
    detail = client.get(f"/v1/alerts/{alert_id}", headers=csm).json()
    assert [h["to_status"] for h in detail["history"]][-3:] == [
        "acknowledged",
        "snoozed",
        "resolved",
    ]
    assert {h["actor"] for h in detail["history"][-3:]} == {"csm@example.com"}
    audit = client.get("/v1/audit?actor=csm@example.com", headers=role_headers["admin"]).json()
    assert {"alert_acknowledge", "alert_snooze", "alert_resolve"} <= {
        e["action"] for e in audit["items"]
    }


def test_snooze_needs_exactly_one_of_until_or_hours(
    client: TestClient, role_headers: Any, alert_id: int
) -> None:
    """Both or neither is a 422; an until without a zone is a 422; a past until is a 400."""
    h = role_headers["manager"]
    url = f"/v1/alerts/{alert_id}/snooze"
    assert client.post(url, json={}, headers=h).status_code == 422
    assert (
        client.post(url, json={"hours": 1, "until": "2099-01-01T00:00:00Z"}, headers=h).status_code
        == 422
    )
    assert client.post(url, json={"until": "2099-01-01T00:00:00"}, headers=h).status_code == 422
    past = client.post(url, json={"until": "2001-01-01T00:00:00Z"}, headers=h)
    assert past.status_code == 400 and "not in the future" in past.json()["detail"]


def test_snooze_is_capped_at_a_year(client: TestClient, role_headers: Any, alert_id: int) -> None:
    """An until more than 365 days ahead is a 422 naming until; the alert stays open."""
    h = role_headers["manager"]
    url = f"/v1/alerts/{alert_id}/snooze"
    far = client.post(url, json={"until": "9999-12-31T00:00:00Z"}, headers=h)
    assert far.status_code == 422 and "more than 365 days ahead" in far.json()["detail"]
    assert [e["loc"] for e in far.json()["errors"]] == ["until"]
    assert client.get(f"/v1/alerts/{alert_id}", headers=h).json()["status"] == "open"
    assert client.post(url, json={"hours": 24 * 365}, headers=h).status_code == 200


@pytest.mark.parametrize(
    "params, field",
    [({"days": 100_000_000_000}, "days"), ({"days": -3}, "days"), ({"dayz": 3}, "dayz")],
)
def test_rule_params_out_of_range_are_422(
    client: TestClient, role_headers: Any, params: dict, field: str
) -> None:
    """PUT /v1/alert-rules with days=1e11 is a 422 naming params.days; nothing is stored."""
    h = role_headers["manager"]
    body = {"kind": "no_login", "params": params}
    answer = client.put("/v1/alert-rules/quiet", json=body, headers=h)
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["errors"]] == [f"params.{field}"]
    assert "quiet" not in [r["name"] for r in client.get("/v1/alert-rules", headers=h).json()]


def test_metrics_expose_alert_rule_failures(
    client: TestClient, role_headers: Any, app_settings: Any, app_engine: Any
) -> None:
    """A stored rule that fails at evaluation shows in tenure_alert_rule_failures_total."""
    now = datetime(2025, 6, 30, tzinfo=UTC)
    with session_scope(app_engine) as session:
        session.add(
            AlertRule(
                name="legacy-metric",
                kind="failed_payment",
                params={"days": 10**11},
                severity="high",
                route="owner",
                channels=["email"],
                cooldown_hours=72,
                enabled=True,
                updated_at=now,
            )
        )
    with session_scope(app_engine) as session:
        day = flows.evaluate_day(session, app_settings, date(2025, 6, 30), Routing())
    assert list(day.failed) == ["legacy-metric"]
    text = client.get("/metrics").text
    assert 'tenure_alert_rule_failures_total{rule="legacy-metric"} 1.0' in text


def test_metrics_endpoints_read_what_the_pipeline_stored(
    client: TestClient, role_headers: Any, app_engine: Any
) -> None:
    """404 before the first run; then summary (newest by default), movements range, cohorts."""
    h = role_headers["analyst"]
    assert client.get("/v1/metrics/summary", headers=h).status_code == 404
    assert client.get("/v1/metrics/cohorts", headers=h).status_code == 404
    now = datetime(2025, 7, 1, tzinfo=UTC)
    with session_scope(app_engine) as session:
        for month, mrr in (
            (date(2025, 4, 1), 100.0),
            (date(2025, 5, 1), 110.0),
            (date(2025, 6, 1), 125.0),
        ):
            figures = {"month": f"{month:%Y-%m}", "mrr_end": mrr}
            session.add(
                MetricsMonth(
                    month=month,
                    currency="USD",
                    figures=figures,
                    as_of=date(2025, 6, 30),
                    computed_at=now,
                )
            )
        session.add(
            MetricsSnapshot(
                name="cohorts",
                as_of=date(2025, 6, 30),
                payload={"cohorts": [{"month": "2025-04"}]},
                computed_at=now,
            )
        )
    assert client.get("/v1/metrics/summary", headers=h).json()["mrr_end"] == 125.0
    assert client.get("/v1/metrics/summary?month=2025-05", headers=h).json()["mrr_end"] == 110.0
    assert client.get("/v1/metrics/summary?month=2025-01", headers=h).status_code == 404
    months = client.get("/v1/metrics/movements?from=2025-05&to=2025-06", headers=h).json()
    assert [m["month"] for m in months["months"]] == ["2025-05", "2025-06"]
    cohorts = client.get("/v1/metrics/cohorts", headers=h).json()
    assert cohorts["as_of"] == "2025-06-30" and cohorts["cohorts"] == [{"month": "2025-04"}]
