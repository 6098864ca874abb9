"""The templates API: save (422 names the line), versions, list, preview for an account."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tenure.db.session import session_scope

from ..messaging.template_data import seed_account

TEMPLATE = {
    "name": "check-in",
    "subject": "Hi {{ contact.first_name }}",
    "body": "<p>{{ account.name }} is {{ health.tier }}</p>",
}


def test_save_list_versions_preview(client: TestClient, role_headers: dict, app_engine: Any):
    manager = role_headers["manager"]
    with session_scope(app_engine) as session:
        account, _ = seed_account(session)
        account_id = account.id
    first = client.post("/v1/templates", json=TEMPLATE, headers=manager)
    again = client.post("/v1/templates", json=TEMPLATE, headers=manager)
    assert (first.status_code, first.json()["created"], again.json()["created"]) == (
        200,
        True,
        False,
    )
    assert first.json()["template"]["created_by"] == "manager@example.com"
    changed = client.post("/v1/templates", json=TEMPLATE | {"topic": "winback"}, headers=manager)
    assert changed.json()["template"]["version"] == 2
    listed = client.get("/v1/templates", headers=manager).json()
    assert [(t["name"], t["version"], t["versions"]) for t in listed] == [("check-in", 2, 2)]
    versions = client.get("/v1/templates/check-in", headers=manager).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["body"] == TEMPLATE["body"]
    shown = client.post(
        "/v1/templates/check-in/preview", json={"account": str(account_id)}, headers=manager
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["subject"] == "Hi Ada"
    assert "<p>Acme &amp; Co is red</p>" in shown.json()["html"]
    assert shown.json()["text"] == "Acme & Co is red"
    missing = client.post("/v1/templates/nope/preview", json={"account": "1"}, headers=manager)
    assert missing.status_code == 404


def test_refused_template_is_a_422_with_line_and_reason(client: TestClient, role_headers: dict):
    body = TEMPLATE | {"body": "<p>\n{{ account.name.__class__ }}</p>"}
    response = client.post("/v1/templates", json=body, headers=role_headers["admin"])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error == {
        "loc": "body.body",
        "msg": "line 2: access to the private attribute '__class__' is not allowed",
        "type": "template_invalid",
    }
    injected = TEMPLATE | {"subject": "Hi\r\nBcc: everyone@example.com"}
    response = client.post("/v1/templates", json=injected, headers=role_headers["admin"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.subject"
    assert client.get("/v1/templates", headers=role_headers["admin"]).json() == []
