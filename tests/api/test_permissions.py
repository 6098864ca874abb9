"""Every route × every role (and anonymous) gets the allow/deny the README's matrix promises."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.accounts.models import Contact
from tenure.alerts import service as alerts_service
from tenure.alerts.models import Alert
from tenure.auth.roles import ROLES
from tenure.db.session import session_scope

ALL = set(ROLES)
STAFF_WRITE = {"admin", "manager"}
ADMIN = {"admin"}
ACT = {"admin", "manager", "csm"}
JOURNEYS_READ = {"admin", "manager", "csm", "analyst"}

# (method, OpenAPI path) -> roles allowed. Written out by hand from the README matrix, so a new
# route without an entry here, or a change of rights, fails this test.
MATRIX: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/auth/me"): ALL,
    ("POST", "/v1/auth/logout"): ALL,
    ("GET", "/v1/accounts"): ALL,
    ("GET", "/v1/accounts/{account_id}"): ALL,
    ("GET", "/v1/accounts/{account_id}/score"): ALL,
    ("GET", "/v1/accounts/{account_id}/score-history"): ALL,
    ("POST", "/v1/scores:batch"): ALL,
    ("GET", "/v1/metrics/summary"): ALL,
    ("GET", "/v1/metrics/movements"): ALL,
    ("GET", "/v1/metrics/cohorts"): ALL,
    ("GET", "/v1/segments"): ALL,
    ("GET", "/v1/segments/{name}"): ALL,
    ("GET", "/v1/alerts"): ALL,
    ("GET", "/v1/alerts/inbox"): ALL,
    ("GET", "/v1/alerts/{alert_id}"): ALL,
    ("POST", "/v1/alerts/{alert_id}/ack"): ACT,
    ("POST", "/v1/alerts/{alert_id}/snooze"): ACT,
    ("POST", "/v1/alerts/{alert_id}/resolve"): ACT,
    ("GET", "/v1/scorecards"): ALL,
    ("GET", "/v1/scorecards/{name}"): ALL,
    ("PUT", "/v1/scorecards/{name}"): STAFF_WRITE,
    ("DELETE", "/v1/scorecards/{name}"): STAFF_WRITE,
    ("GET", "/v1/alert-rules"): ALL,
    ("PUT", "/v1/alert-rules/{name}"): STAFF_WRITE,
    ("DELETE", "/v1/alert-rules/{name}"): STAFF_WRITE,
    ("GET", "/v1/experiments"): ALL,
    ("GET", "/v1/experiments/{key}/results"): ALL,
    ("POST", "/v1/experiments/{key}/assign"): STAFF_WRITE,  # or a tracking write key
    ("POST", "/v1/experiments/{key}/exposures"): STAFF_WRITE,  # or a tracking write key
    ("GET", "/v1/plays"): ALL,
    ("GET", "/v1/reports/roi"): ALL,
    ("GET", "/v1/reports/scorecard"): ALL,
    ("GET", "/v1/risks"): JOURNEYS_READ,  # risks:read: admin, manager, csm, analyst
    ("GET", "/v1/plays/{key}"): ALL,
    ("GET", "/v1/accounts/{account_id}/plays"): ALL,
    ("GET", "/v1/tasks"): ACT,
    ("POST", "/v1/tasks/{task_id}/complete"): ACT,
    ("POST", "/v1/tasks/{task_id}/snooze"): ACT,
    ("POST", "/v1/tasks/{task_id}/assign"): STAFF_WRITE,
    ("POST", "/v1/contacts/{contact_id}/consent"): STAFF_WRITE,
    ("GET", "/v1/templates"): STAFF_WRITE,
    ("GET", "/v1/templates/{name}"): STAFF_WRITE,
    ("POST", "/v1/templates"): STAFF_WRITE,
    ("POST", "/v1/templates/{name}/preview"): STAFF_WRITE,
    ("GET", "/v1/journeys"): JOURNEYS_READ,
    ("GET", "/v1/journeys/{key}"): JOURNEYS_READ,
    ("POST", "/v1/journeys/{key}/pause"): STAFF_WRITE,
    ("POST", "/v1/journeys/{key}/resume"): STAFF_WRITE,
    ("POST", "/v1/journeys/{key}/enrol"): STAFF_WRITE,
    ("GET", "/v1/loyalty/accounts/{account_id}"): ALL,
    ("GET", "/v1/loyalty/accounts/{account_id}/ledger"): ALL,
    ("GET", "/v1/loyalty/accounts/{account_id}/leaderboard"): ALL,
    ("GET", "/v1/loyalty/contacts/{contact_id}"): ALL,
    ("PUT", "/v1/loyalty/contacts/{contact_id}/leaderboard"): ACT,
    ("GET", "/v1/loyalty/rewards"): ALL,
    ("POST", "/v1/loyalty/redemptions"): ACT,
    ("GET", "/v1/loyalty/redemptions"): STAFF_WRITE,
    ("POST", "/v1/loyalty/redemptions/{redemption_id}/approve"): STAFF_WRITE,
    ("POST", "/v1/loyalty/redemptions/{redemption_id}/reject"): STAFF_WRITE,
    ("GET", "/v1/audit"): ADMIN,
    ("POST", "/v1/privacy/exports"): ADMIN,
    ("POST", "/v1/privacy/erasures"): ADMIN,
    ("GET", "/v1/privacy/erasures/{request_id}"): ADMIN,
    ("GET", "/v1/users"): ADMIN,
    ("POST", "/v1/users"): ADMIN,
    ("GET", "/v1/keys"): ADMIN,
    ("POST", "/v1/keys"): ADMIN,
}
# Routes that take no bearer token: public, write-key (HTTP basic) or Stripe-signed.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/auth/token"),
}
WRITE_KEY = {
    (("POST", f"/v1/{call}"))
    for call in ("track", "identify", "group", "alias", "page", "screen", "batch")
}
SIGNED = {("POST", "/v1/webhooks/stripe"), ("POST", "/v1/webhooks/email/mailgun")}


@pytest.fixture
def world(client: TestClient, app_engine: Any, make_account: Any) -> dict[str, Any]:
    """Create an account, an alert owned by the csm user, default rules; return names and ids."""
    now = datetime(2025, 6, 30, tzinfo=UTC)
    with session_scope(app_engine) as session:
        account = make_account(
            session, "ACME", owner="csm@example.com", health=(35, "red"), churn=(0.8, "high")
        )
        contact = Contact(account_id=account.id, external_id="ada", email="ada@acme.io")
        session.add(contact)
        alerts_service.ensure_default_rules(session)
        rule = alerts_service.list_rules(session)[0]
        alert = Alert(
            account_id=account.id,
            rule=rule.name,
            kind=rule.kind,
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
        return {
            "account_id": account.id,
            "alert_id": alert.id,
            "contact_id": contact.id,
            "rule": alerts_service.rule_dict(rule),
        }


def _url(path: str, world: dict[str, Any], client: TestClient, headers: dict) -> str:
    return (
        path.replace("{account_id}", str(world["account_id"]))
        .replace("{alert_id}", str(world["alert_id"]))
        .replace("{contact_id}", str(world["contact_id"]))
        .replace("{name}", _name_for(path, world))
        .replace("{key}", "no-such-experiment")
        .replace("{task_id}", "999999")
        .replace("{redemption_id}", "999999")
    )


def _name_for(path: str, world: dict[str, Any]) -> str:
    if path.startswith("/v1/alert-rules"):
        return world["rule"]["name"]
    if path.startswith("/v1/scorecards"):
        return "onboarding"
    return "no-such-segment"


def _body(method: str, path: str, world: dict[str, Any], client: TestClient, admin: dict) -> Any:
    if path == "/v1/scores:batch":
        return {"ids": [world["account_id"]]}
    if path.startswith("/v1/tasks/"):
        return {"/complete": {"outcome": "saved"}, "/snooze": {"until": "2025-07-01"},
                "/assign": {"owner": "other@example.com"}}[path[path.rindex("/"):]]  # fmt: skip
    if path.endswith("/snooze"):
        return {"hours": 4}
    if path == "/v1/scorecards/{name}" and method == "PUT":
        return client.get("/v1/scorecards/onboarding", headers=admin).json()
    if path == "/v1/alert-rules/{name}" and method == "PUT":
        return world["rule"]
    if path == "/v1/users":
        return {"email": "new-user@example.com", "password": "long enough pass", "role": "viewer"}
    if path.startswith("/v1/experiments/") and method == "POST":
        return {"unit_id": "ACME"}
    if path == "/v1/journeys/{key}/enrol":
        return {"contact_id": 1}
    if path == "/v1/loyalty/redemptions" and method == "POST":
        return {"account_id": world["account_id"], "reward_key": "swag-box"}
    if path == "/v1/loyalty/contacts/{contact_id}/leaderboard":
        return {"opt_in": True}
    if path == "/v1/keys":
        return {"name": "web"}
    if path == "/v1/privacy/exports":
        return {"contact": "ada"}
    if path == "/v1/privacy/erasures":
        return {"contact": "no-such-person"}  # the admin gets a 404: nobody is erased here
    if path.endswith("/consent"):
        return {"purpose": "marketing", "granted": False}
    if path == "/v1/templates" and method == "POST":
        return {"name": "permission-check", "subject": "Hi", "body": "<p>Hi</p>"}
    if path == "/v1/templates/{name}/preview":
        return {"account": "ACME"}
    return None


def _call(client: TestClient, method: str, url: str, headers: dict, body: Any) -> Any:
    return client.request(method, url, headers=headers, json=body)


def test_matrix_covers_every_route(app: Any) -> None:
    """Each operation in the OpenAPI schema is in exactly one of the tables above."""
    operations = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    known = set(MATRIX) | PUBLIC | WRITE_KEY | SIGNED
    assert operations - known == set(), "routes missing from the permission matrix"
    assert known - operations == set(), "matrix entries without a route"


def test_every_route_for_every_role(
    client: TestClient, role_headers: dict[str, dict[str, str]], world: dict[str, Any]
) -> None:
    """Allowed roles get neither 401 nor 403 (nor a 5xx); others get 403; anonymous gets 401."""
    admin = role_headers["admin"]
    # logout last: it revokes the caller's token
    ordered = sorted(MATRIX.items(), key=lambda kv: kv[0][1] == "/v1/auth/logout")
    for (method, path), allowed in ordered:
        url = _url(path, world, client, admin)
        body = _body(method, path, world, client, admin)
        anonymous = _call(client, method, url, {}, body)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"] == "application/problem+json"
        for role in ROLES:
            response = _call(client, method, url, role_headers[role], body)
            where = (method, path, role, response.status_code, response.text[:200])
            assert response.status_code < 500, where
            if role in allowed:
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 403, where
                assert response.json()["detail"].startswith(f"the role {role!r}")


def test_public_routes_need_no_token(client: TestClient) -> None:
    """Liveness, metrics and the token endpoint answer without a token."""
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    token = client.post("/v1/auth/token", data={"grant_type": "password"})
    assert token.status_code == 400  # asks for the username, not for a token


def test_write_key_routes_refuse_bearer_tokens(
    client: TestClient, role_headers: dict[str, dict[str, str]]
) -> None:
    """Tracking takes a write key only: an admin's bearer token is not one."""
    message = {"type": "track", "event": "x", "userId": "u", "context": {"groupId": "ACME"}}
    for _, path in sorted(WRITE_KEY):
        body = {"batch": [message]} if path.endswith("batch") else message
        for headers in ({}, role_headers["admin"]):
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 401, (path, response.text)
            assert response.headers["www-authenticate"].startswith("Basic")


def test_csm_acts_only_on_own_alerts(
    client: TestClient,
    role_headers: dict[str, dict[str, str]],
    world: dict[str, Any],
    app_engine: Any,
) -> None:
    """A csm may not acknowledge an alert routed to someone else, and does not see it listed."""
    with session_scope(app_engine) as session:
        alert = session.get(Alert, world["alert_id"])
        alert.owner = "someone-else@example.com"
    csm = role_headers["csm"]
    url = f"/v1/alerts/{world['alert_id']}/ack"
    assert client.post(url, headers=csm).status_code == 403
    assert client.get("/v1/alerts", headers=csm).json()["total"] == 0
    assert client.get("/v1/alerts", headers=role_headers["manager"]).json()["total"] == 1
    assert client.post(url, headers=role_headers["manager"]).json()["status"] == "acknowledged"


def test_viewer_does_not_see_events_analyst_does(
    client: TestClient, role_headers: dict[str, dict[str, str]], world: dict[str, Any]
) -> None:
    """The account 360 leaves out recent events for viewers and includes them for analysts."""
    url = f"/v1/accounts/{world['account_id']}"
    assert client.get(url, headers=role_headers["viewer"]).json()["recent_events"] is None
    assert client.get(url, headers=role_headers["analyst"]).json()["recent_events"] == []


def test_the_360_shows_a_csm_only_the_alerts_it_may_open(
    client: TestClient, role_headers: dict[str, dict[str, str]], world: dict[str, Any], app_engine
) -> None:
    """The 360's alerts and events follow /v1/alerts/{id} and events:read (as the dashboard)."""
    with session_scope(app_engine) as session:
        other = session.get(Alert, world["alert_id"])
        theirs = Alert(
            account_id=world["account_id"], rule=other.rule, kind=other.kind, severity="low",
            owner="manager@example.com", status="open", message="Seats fell", facts={},
            opened_at=other.opened_at, updated_at=other.updated_at,
        )  # fmt: skip
        session.add(theirs)
        session.flush()
        theirs_id = theirs.id
    url = f"/v1/accounts/{world['account_id']}"
    for role in ROLES:
        view = client.get(url, headers=role_headers[role]).json()
        seen = {a["id"] for a in view["alerts"]}
        allowed = {
            i
            for i in (world["alert_id"], theirs_id)
            if client.get(f"/v1/alerts/{i}", headers=role_headers[role]).status_code == 200
        }
        assert seen == allowed, role
        assert (view["recent_events"] is None) is (role == "viewer"), role
