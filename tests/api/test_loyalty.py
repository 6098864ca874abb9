"""The loyalty API: summary, ledger, rewards, redemptions with Idempotency-Key, approvals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tenure.db.session import session_scope
from tenure.loyalty import ledger
from tenure.loyalty.membership import arm_of
from tenure.loyalty.service import load_program

URL = "/v1/loyalty"


@pytest.fixture
def member_id(app_engine: Any, app_settings: Any) -> int:
    """Load the packaged programme; return a member account holding 30,000 points."""
    from ..factories import add_account

    with session_scope(app_engine) as session:
        program, _ = load_program(session, None)
        external = next(
            e for e in (f"acme-{i}" for i in range(100))
            if arm_of(e, program, app_settings) == "member"
        )  # fmt: skip
        account = add_account(session, external)
        ledger.credit(session, account.id, 30_000, 12, reason="seed", kind="adjust")
        return account.id


def test_summary_ledger_and_rewards(client: TestClient, role_headers: dict, member_id: int):
    viewer = role_headers["viewer"]
    summary = client.get(f"{URL}/accounts/{member_id}", headers=viewer)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert (body["balance"], body["tier"], body["next_tier"]) == (30_000, "member", "silver")
    assert body["points_to_next_tier"] == 2000  # grants do not qualify
    lines = client.get(f"{URL}/accounts/{member_id}/ledger", headers=viewer).json()
    assert [(line["kind"], line["points"]) for line in lines] == [("adjust", 30_000)]
    rewards = client.get(f"{URL}/rewards", headers=viewer).json()
    assert {"service-credit-100", "swag-box"} <= {r["key"] for r in rewards}
    assert client.get(f"{URL}/accounts/999999", headers=viewer).status_code == 404


def test_redemption_is_idempotent_and_refuses_overspending(
    client: TestClient, role_headers: dict, member_id: int
):
    csm = role_headers["csm"]
    wanted = {"account_id": member_id, "reward_key": "service-credit-100"}  # 10,000 points
    first = client.post(f"{URL}/redemptions", json=wanted, headers={**csm, "Idempotency-Key": "a"})
    again = client.post(f"{URL}/redemptions", json=wanted, headers={**csm, "Idempotency-Key": "a"})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json() and first.json()["status"] == "fulfilled"
    other = {**wanted, "reward_key": "swag-box"}
    reused = client.post(f"{URL}/redemptions", json=other, headers={**csm, "Idempotency-Key": "a"})
    assert reused.status_code == 409
    for key in ("b", "c"):
        client.post(f"{URL}/redemptions", json=wanted, headers={**csm, "Idempotency-Key": key})
    short = client.post(f"{URL}/redemptions", json=wanted, headers=csm)
    assert short.status_code == 409 and "are needed" in short.json()["detail"]
    assert short.headers["content-type"] == "application/problem+json"
    balance = client.get(f"{URL}/accounts/{member_id}", headers=csm).json()["balance"]
    assert balance == 0
    bad = client.post(f"{URL}/redemptions", json={"account_id": "x"}, headers=csm)
    assert bad.status_code == 422


def test_dear_redemption_waits_for_a_manager(
    client: TestClient, role_headers: dict, member_id: int
):
    csm, manager = role_headers["csm"], role_headers["manager"]
    wanted = {"account_id": member_id, "reward_key": "renewal-discount-5"}  # 25,000 > 20,000
    pending = client.post(f"{URL}/redemptions", json=wanted, headers=csm).json()
    assert pending["status"] == "pending"
    waiting = client.get(f"{URL}/redemptions?status=pending", headers=manager).json()
    assert [r["id"] for r in waiting] == [pending["id"]]
    path = f"{URL}/redemptions/{pending['id']}/approve"
    assert client.post(path, headers=csm).status_code == 403
    approved = client.post(path, headers=manager, json={"note": "strategic account"})
    assert approved.status_code == 200 and approved.json()["status"] == "fulfilled"
    assert client.post(path, headers=manager).status_code == 409
    balance = client.get(f"{URL}/accounts/{member_id}", headers=csm).json()["balance"]
    assert balance == 5_000
