"""The redemption API under parallel requests, and who may call it (the hot path's own checks)."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.auth.models import AuditEntry, User
from tenure.db.session import session_scope
from tenure.loyalty import ledger
from tenure.loyalty.membership import arm_of
from tenure.loyalty.models import LoyaltyRedemption, LoyaltyReward
from tenure.loyalty.service import load_program

from ..loyalty.conftest import assert_books_balance

URL = "/v1/loyalty/redemptions"
SWAG = "swag-box"  # 1,500 points in the packaged programme


@pytest.fixture
def member(app_engine: Any, app_settings: Any) -> int:
    """Load the packaged programme; return a member account holding points for 50 boxes."""
    from ..factories import add_account

    with session_scope(app_engine) as session:
        program, _ = load_program(session, None)
        external = next(
            e for e in (f"acme-{i}" for i in range(100))
            if arm_of(e, program, app_settings) == "member"
        )  # fmt: skip
        account = add_account(session, external)
        ledger.credit(session, account.id, 50 * 1500, 12, reason="seed", kind="adjust")
        session.get_one(LoyaltyReward, SWAG).stock = 40
        return account.id


@pytest.mark.slow
def test_200_parallel_api_redemptions_never_overspend(
    client: TestClient, role_headers: dict, member: int, app_engine: Any
):
    """Points for 50 boxes, stock for 40, 200 requests on 8 threads: exactly 40 succeed."""
    csm = role_headers["csm"]

    def redeem(number: int) -> int:
        headers = {**csm, "Idempotency-Key": f"parallel-{number}"}
        body = {"account_id": member, "reward_key": SWAG}
        return client.post(URL, json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = [pool.submit(contextvars.copy_context().run, redeem, n) for n in range(200)]
        codes = [run.result() for run in runs]
    assert codes.count(200) == 40
    assert set(codes) == {200, 409}
    with session_scope(app_engine) as session:
        assert session.get_one(LoyaltyReward, SWAG).stock == 0
        assert ledger.wallet_balance(session, member) == 10 * 1500
        stored = session.scalar(sa.select(sa.func.count()).select_from(LoyaltyRedemption))
        assert stored == 40
        audited = sa.select(sa.func.count()).where(AuditEntry.action == "loyalty_redeem")
        assert session.scalar(audited) == 40
        assert_books_balance(session)


def test_replayed_key_answers_the_same_redemption_once(
    client: TestClient, role_headers: dict, member: int, app_engine: Any
):
    """Eight parallel requests with one Idempotency-Key store one redemption, all answer it."""
    headers = {**role_headers["csm"], "Idempotency-Key": "same-key"}
    body = {"account_id": member, "reward_key": SWAG}
    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = [pool.submit(contextvars.copy_context().run, client.post, URL, json=body,
                            headers=headers) for _ in range(8)]  # fmt: skip
        answers = [run.result() for run in runs]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["id"] for answer in answers}) == 1
    with session_scope(app_engine) as session:
        assert ledger.wallet_balance(session, member) == 49 * 1500
        assert session.scalar(sa.select(sa.func.count()).select_from(LoyaltyRedemption)) == 1


def test_the_owner_is_checked_now_not_when_the_token_was_issued(
    client: TestClient, role_headers: dict, member: int, app_engine: Any
):
    """A demoted user gets 403, a disabled one 401, a logged-out token 401: no points move."""
    body = {"account_id": member, "reward_key": SWAG}
    csm, manager = role_headers["csm"], role_headers["manager"]
    with session_scope(app_engine) as session:
        session.execute(
            sa.update(User).where(User.email == "csm@example.com").values(role="viewer")
        )
        session.execute(sa.update(User).where(User.email == "manager@example.com").values(active=False))  # fmt: skip
    demoted = client.post(URL, json=body, headers=csm)
    assert demoted.status_code == 403 and "'viewer'" in demoted.json()["detail"]
    assert client.post(URL, json=body, headers=manager).status_code == 401
    admin = role_headers["admin"]
    assert client.post("/v1/auth/logout", headers=admin).status_code in (200, 204)
    revoked = client.post(URL, json=body, headers=admin)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    with session_scope(app_engine) as session:
        assert ledger.wallet_balance(session, member) == 50 * 1500


def test_a_new_programme_is_read_at_once(
    client: TestClient, role_headers: dict, member: int, app_engine: Any, tmp_path: Any
):
    """The parsed programme is cached per programme row: a reload's threshold applies next."""
    body = {"account_id": member, "reward_key": SWAG}
    csm = role_headers["csm"]
    assert client.post(URL, json=body, headers=csm).json()["status"] == "fulfilled"
    from tenure.loyalty.program import DEFAULT_PROGRAM

    text = DEFAULT_PROGRAM.read_text()
    assert "approval_threshold = 20000" in text
    stricter = tmp_path / "stricter.toml"
    stricter.write_text(text.replace("approval_threshold = 20000", "approval_threshold = 1000"))
    with session_scope(app_engine) as session:
        load_program(session, stricter)
    assert client.post(URL, json=body, headers=csm).json()["status"] == "pending"
