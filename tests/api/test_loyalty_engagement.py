"""The loyalty API's engagement: streak and challenges in the summary, leaderboard opt-in."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.db.session import session_scope
from tenure.loyalty.service import load_program

from ..factories import add_account, add_contact

URL = "/v1/loyalty"


@pytest.fixture
def people(app_engine: Any) -> dict[str, int]:
    """Load the packaged programme; return an account and two of its contacts."""
    with session_scope(app_engine) as session:
        load_program(session, None)
        account = add_account(session, "lb-acme", owner="csm@example.com")
        ann = add_contact(session, account, external_id="lb-ann", name="Ann")
        bob = add_contact(session, account, external_id="lb-bob", name="Bob")
        return {"account": account.id, "ann": ann.id, "bob": bob.id}


def test_summary_shows_streak_and_running_challenges(client: TestClient, role_headers, people):
    body = client.get(f"{URL}/accounts/{people['account']}", headers=role_headers["viewer"]).json()
    assert body["streak"] == {"current_weeks": 0, "longest_weeks": 0, "last_active_week": None,
                              "as_of": None}  # fmt: skip
    running = {c["key"]: (c["progress"], c["goal"], c["completed"]) for c in body["challenges"]}
    assert running == {"feature-explorer": (0, 3, False), "team-builder": (0, 5, False)}


def test_leaderboard_lists_only_opted_in_contacts(client: TestClient, role_headers, people):
    csm, viewer = role_headers["csm"], role_headers["viewer"]
    board = f"{URL}/accounts/{people['account']}/leaderboard"
    assert client.get(board, headers=viewer).json() == []
    choice = f"{URL}/contacts/{people['ann']}/leaderboard"
    done = client.put(choice, json={"opt_in": True}, headers=csm)
    assert done.status_code == 200, done.text
    assert done.json() == {"contact_id": people["ann"], "external_id": "lb-ann", "opt_in": True}
    lines = client.get(board, headers=viewer).json()  # a viewer sees people masked
    assert [(line["external_id"], line["name"], line["rank"], line["points"]) for line in lines] == [
        ("lb-a***", "A***", 1, 0)]  # fmt: skip
    assert client.get(board, headers=csm).json()[0]["name"] == "Ann"  # the account's CSM
    client.put(choice, json={"opt_in": False}, headers=csm)
    assert client.get(board, headers=viewer).json() == []
    missing = client.put(f"{URL}/contacts/999999/leaderboard", json={"opt_in": True}, headers=csm)
    assert missing.status_code == 404
    bad = client.put(choice, json={"opt_in": "perhaps"}, headers=csm)
    assert bad.status_code in (400, 422)
    assert client.put(choice, json={"opt_in": True}, headers=viewer).status_code == 403
