"""Redemptions: 200 parallel requests never overspend; approvals; idempotency keys."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from tenure.db.session import session_scope
from tenure.errors import StateConflict
from tenure.loyalty import ledger
from tenure.loyalty.models import LoyaltyRedemption, LoyaltyReward
from tenure.loyalty.rewards import OutOfStock, decide_redemption, find_account, request_redemption

from .conftest import SQLITE_ONLY, assert_books_balance

SWAG = "swag-box"  # 1,500 points in the packaged programme


def _redeem(engine, program, account_id: int, key: str | None = None) -> str:
    try:
        with session_scope(engine) as session:
            account = find_account(session, account_id)
            done = request_redemption(session, program, account, SWAG, idempotency_key=key)
            return done.status
    except StateConflict as exc:
        return type(exc).__name__


@pytest.mark.slow
def test_parallel_redemptions_never_overspend(any_engine, program, member):
    """Points for 50 boxes, stock for 40, 200 requests on 8 threads: exactly 40 succeed."""
    account = member(50 * 1500)
    with session_scope(any_engine) as session:
        session.get_one(LoyaltyReward, SWAG).stock = 40
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: _redeem(any_engine, program, account), range(200)))
    assert outcomes.count("fulfilled") == 40
    assert set(outcomes) == {"fulfilled", "OutOfStock"}
    with session_scope(any_engine) as session:
        assert session.get_one(LoyaltyReward, SWAG).stock == 0
        assert ledger.wallet_balance(session, account) == 10 * 1500
        assert_books_balance(session)


def test_parallel_redemptions_stop_at_the_balance(any_engine, program, member):
    """Points for 7 boxes, 60 requests: 7 succeed, the balance is 0, never negative."""
    account = member(7 * 1500 + 20)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: _redeem(any_engine, program, account), range(60)))
    assert outcomes.count("fulfilled") == 7
    assert set(outcomes) == {"fulfilled", "InsufficientPoints"}
    with session_scope(any_engine) as session:
        assert ledger.wallet_balance(session, account) == 20
        assert_books_balance(session)


@SQLITE_ONLY
def test_idempotency_key_redeems_once(any_engine, program, member):
    account = member(10_000)
    assert _redeem(any_engine, program, account, "req-1") == "fulfilled"
    assert _redeem(any_engine, program, account, "req-1") == "fulfilled"
    with session_scope(any_engine) as session:
        assert ledger.wallet_balance(session, account) == 10_000 - 1500
        assert session.scalar(sa.select(sa.func.count()).select_from(LoyaltyRedemption)) == 1


@SQLITE_ONLY
def test_dear_reward_waits_for_approval(any_engine, program, member):
    engine = any_engine
    account = member(30_000)
    with session_scope(engine) as session:
        wanted = request_redemption(
            session, program, find_account(session, account), "renewal-discount-5", actor="csm"
        )
        assert wanted.status == "pending"
        assert ledger.wallet_balance(session, account) == 30_000
    with session_scope(engine) as session:
        done = decide_redemption(session, wanted.id, approve=True, actor="manager")
        assert done.status == "fulfilled"
    with (
        pytest.raises(StateConflict, match="is fulfilled, not pending"),
        session_scope(engine) as session,
    ):
        decide_redemption(session, wanted.id, approve=False, actor="manager")
    with session_scope(engine) as session:
        assert ledger.wallet_balance(session, account) == 5_000
        assert_books_balance(session)


@SQLITE_ONLY
def test_out_of_stock_leaves_points_alone(any_engine, program, member):
    engine = any_engine
    account = member(5_000)
    with session_scope(engine) as session:
        session.get_one(LoyaltyReward, SWAG).stock = 0
    with pytest.raises(OutOfStock), session_scope(engine) as session:
        request_redemption(session, program, find_account(session, account), SWAG)
    with session_scope(engine) as session:
        assert ledger.wallet_balance(session, account) == 5_000
