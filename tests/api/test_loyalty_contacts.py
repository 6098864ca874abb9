"""Contact wallets in the API: the account lists its contacts' balances, a contact its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.db.session import session_scope
from tenure.loyalty import ledger
from tenure.loyalty.contact_wallets import ContactEarning, post_contact_earnings
from tenure.loyalty.service import load_program

URL = "/v1/loyalty"


@pytest.fixture
def wallets(app_engine: Any, frozen_clock) -> dict[str, int]:
    """Load the packaged programme; an account with 900 points, two contacts with their own."""
    from ..factories import add_account, add_contact

    with session_scope(app_engine) as session:
        load_program(session, None)
        account = add_account(session, "acme-contacts")
        ledger.credit(session, account.id, 900, 12, reason="seed", kind="adjust")
        ada = add_contact(session, account, external_id="ada", name="Ada Lovelace")
        bob = add_contact(session, account, external_id="bob", name="Bob Marley")
        at = datetime(2025, 6, 20, tzinfo=UTC)
        earned = [
            ContactEarning(who, account.id, "course", points, f"event:{key}:course", at)
            for who, points, key in ((ada.id, 120, "e1"), (bob.id, 40, "e2"), (ada.id, 30, "e3"))
        ]
        post_contact_earnings(session, earned)
        return {"account": account.id, "ada": ada.id, "bob": bob.id}


def test_account_lists_contact_wallets_and_a_contact_shows_its_own(
    client: TestClient, role_headers: dict, wallets: dict[str, int]
):
    admin = role_headers["admin"]
    body = client.get(f"{URL}/accounts/{wallets['account']}", headers=admin).json()
    assert body["balance"] == 900  # the company wallet alone
    assert [(c["name"], c["balance"]) for c in body["contacts"]] == [
        ("Ada Lovelace", 150), ("Bob Marley", 40)]  # fmt: skip
    ada = client.get(f"{URL}/contacts/{wallets['ada']}", headers=admin)
    assert ada.status_code == 200, ada.text
    shown = ada.json()
    assert (shown["account_id"], shown["balance"], shown["external_id"]) == (
        wallets["account"], 150, "ada")  # fmt: skip
    assert [line["points"] for line in shown["ledger"]] == [30, 120]
    assert client.get(f"{URL}/contacts/999999", headers=admin).status_code == 404


def test_contact_wallets_are_masked_for_readers_who_may_not_see_people(
    client: TestClient, role_headers: dict, wallets: dict[str, int]
):
    viewer = role_headers["viewer"]
    body = client.get(f"{URL}/accounts/{wallets['account']}", headers=viewer).json()
    assert [c["balance"] for c in body["contacts"]] == [150, 40]
    assert "Lovelace" not in str(body["contacts"]) and body["contacts"][0]["external_id"] != "ada"
    ada = client.get(f"{URL}/contacts/{wallets['ada']}", headers=viewer)
    assert ada.status_code == 200 and "Lovelace" not in ada.text and ada.json()["balance"] == 150
