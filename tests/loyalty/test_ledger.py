"""The ledger: balanced entries, idempotent earning, clawback floor, expiry, grants."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.db.session import session_scope
from tenure.loyalty import ledger
from tenure.loyalty.corrections import claw_back, expire_points
from tenure.loyalty.ledger import Earning, InsufficientPoints
from tenure.loyalty.models import LoyaltyMovement

from .conftest import SQLITE_ONLY, assert_books_balance

AT = datetime(2025, 6, 1, 9, tzinfo=UTC)


def _earning(account_id: int, key: str, points: int = 100, at: datetime = AT) -> Earning:
    return Earning(account_id, "weekly_login", points, key, at)


def test_replayed_earnings_change_nothing(any_engine, member):
    account = member(0)
    batch = [_earning(account, f"evt-{i}") for i in range(3)]
    with session_scope(any_engine) as session:
        assert ledger.post_earnings(session, batch, 12) == 3
    with session_scope(any_engine) as session:
        assert ledger.post_earnings(session, [*batch, _earning(account, "evt-9")], 12) == 1
        assert ledger.wallet_balance(session, account) == 400
        assert_books_balance(session)


@SQLITE_ONLY
def test_debit_never_goes_below_zero(any_engine, member):
    account = member(100)
    with session_scope(any_engine) as session:
        ledger.debit(session, account, 60, "adjust", reason="correction")
    with (
        pytest.raises(InsufficientPoints, match="has 40 points, 50 are needed"),
        session_scope(any_engine) as session,
    ):
        ledger.debit(session, account, 50, "adjust", reason="too much")
    with session_scope(any_engine) as session:
        assert ledger.wallet_balance(session, account) == 40
        assert_books_balance(session)


def test_clawback_takes_what_is_left_and_writes_off_the_rest(any_engine, member):
    account = member(0)
    with session_scope(any_engine) as session:
        ledger.post_earnings(session, [_earning(account, "inv-1", 500)], 12)
        ledger.debit(session, account, 350, "redeem", reason="reward")
    with session_scope(any_engine) as session:
        done = claw_back(session, "inv-1", "invoice refunded")
    assert (done.taken, done.written_off) == (150, 350)
    with session_scope(any_engine) as session:
        again = claw_back(session, "inv-1", "invoice refunded")
        assert again == done  # idempotent
        assert ledger.wallet_balance(session, account) == 0
        assert_books_balance(session)


@SQLITE_ONLY
def test_expiry_takes_oldest_lots_first(any_engine, member, frozen_clock):
    account = member(0)
    old, new = datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 9, 1, tzinfo=UTC)
    with session_scope(any_engine) as session:
        ledger.post_earnings(session, [_earning(account, "a", 100, old)], 12)
        ledger.post_earnings(session, [_earning(account, "b", 100, new)], 12)
        ledger.debit(session, account, 30, "redeem", reason="reward")  # from the January lot
    with session_scope(any_engine) as session:
        assert expire_points(session, date(2025, 1, 10)) == {"lots": 1, "points": 70}
    with session_scope(any_engine) as session:
        assert expire_points(session, date(2025, 1, 10)) == {"lots": 0, "points": 0}
        assert ledger.wallet_balance(session, account) == 100
        kinds = session.scalars(sa.select(LoyaltyMovement.kind).order_by(LoyaltyMovement.id))
        assert list(kinds)[-1] == "expire"
        assert_books_balance(session)


def test_add_months_clamps_to_month_end():
    assert ledger.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert ledger.add_months(date(2024, 11, 15), 14) == date(2026, 1, 15)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(["earn", "debit", "claw", "expire"]),
                          st.integers(1, 400)), max_size=12))  # fmt: skip
def test_books_balance_after_any_sequence(engine, frozen_clock, operations):
    """Whatever happens, entries sum to zero and wallet = entries = lots ≥ 0."""
    with session_scope(engine) as session:
        from ..factories import add_account

        account = add_account(session).id
    for index, (op, points) in enumerate(operations):
        with session_scope(engine) as session:
            if op == "earn":
                at = datetime(2024, 1 + index % 12, 1, tzinfo=UTC)
                ledger.post_earnings(
                    session, [_earning(account, f"k{account}-{index}", points, at)], 12
                )
            elif op == "debit" and ledger.wallet_balance(session, account) >= points:
                ledger.debit(session, account, points, "redeem")
            elif op == "claw" and index > 0:
                key = f"k{account}-{index - 1}"
                if session.scalars(
                    sa.select(LoyaltyMovement).where(LoyaltyMovement.source_key == key)
                ).first():
                    claw_back(session, key, "reversed")
            elif op == "expire":
                expire_points(session, date(2025, 1 + index % 6, 1))
    with session_scope(engine) as session:
        assert_books_balance(session)


def test_a_debit_takes_the_soonest_expiring_lots_first(any_engine, member):
    """Three lots (100, 200, 300 points by age); a 250-point debit empties the first, then 150."""
    from tenure.loyalty.models import LoyaltyLot

    account = member(0)
    earnings = [
        _earning(account, f"age-{months}", points, datetime(2025, months, 1, tzinfo=UTC))
        for months, points in ((3, 300), (1, 100), (2, 200))
    ]
    with session_scope(any_engine) as session:
        ledger.post_earnings(session, earnings, 12)
        ledger.debit(session, account, 250, "redeem", reason="reward")
    with session_scope(any_engine) as session:
        lots = session.execute(
            sa.select(LoyaltyLot.points, LoyaltyLot.remaining)
            .where(LoyaltyLot.account_id == account)
            .order_by(LoyaltyLot.expires_on)
        ).all()
        assert [tuple(lot) for lot in lots] == [(100, 0), (200, 50), (300, 300)]
        assert_books_balance(session)
