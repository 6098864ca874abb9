"""The journeys API: list, results, pause/resume, enrol; problem+json for bad input."""

from __future__ import annotations

from tenure.db.session import session_scope
from tenure.messaging.journeys_spec import parse_journeys
from tenure.messaging.journeys_store import save_journey

from ..factories import add_account, add_contact

JOURNEY = {
    "key": "trial-ending",
    "name": "Trial ending",
    "trigger": {"kind": "event", "event": "Trial Ending"},
    "steps": [{"id": "rest", "kind": "wait", "days": 1}],
    "holdout": 0.0,
}


def test_list_get_pause_resume_and_enrol(client, app_engine, role_headers):
    with session_scope(app_engine) as session:
        (spec,) = parse_journeys({"journey": [JOURNEY]}, "test")
        save_journey(session, spec)
        account = add_account(session, external_id="api-journey-1")
        contact_id = add_contact(session, account, consent={"email": True}).id
    manager, csm = role_headers["manager"], role_headers["csm"]
    listed = client.get("/v1/journeys", headers=csm)
    assert listed.status_code == 200 and listed.json()[0]["key"] == "trial-ending"
    assert client.get("/v1/journeys", headers=role_headers["viewer"]).status_code == 403
    assert client.post("/v1/journeys/trial-ending/pause", headers=csm).status_code == 403

    paused = client.post("/v1/journeys/trial-ending/pause", headers=manager)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = client.post("/v1/journeys/trial-ending/pause", headers=manager)
    assert again.status_code == 409 and again.headers["content-type"].startswith(
        "application/problem+json"
    )
    refused = client.post(
        "/v1/journeys/trial-ending/enrol", json={"contact_id": contact_id}, headers=manager
    )
    assert refused.status_code == 409 and "paused" in refused.json()["detail"]
    assert client.post("/v1/journeys/trial-ending/resume", headers=manager).status_code == 200

    enrolled = client.post(
        "/v1/journeys/trial-ending/enrol", json={"contact_id": contact_id}, headers=manager
    )
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert (body["arm"], body["run_no"], body["current_step"]) == ("treated", 1, "rest")
    shown = client.get("/v1/journeys/trial-ending", headers=csm).json()
    assert shown["arms"]["treated"]["entered"] == 1 and shown["steps"][0]["step"] == "rest"

    assert client.get("/v1/journeys/nope", headers=csm).status_code == 404
    bad = client.post("/v1/journeys/trial-ending/enrol", json={"contact_id": 0}, headers=manager)
    assert bad.status_code == 422
    unknown = client.post(
        "/v1/journeys/trial-ending/enrol", json={"contact_id": 999999}, headers=manager
    )
    assert unknown.status_code == 404
