"""Loyalty fixtures: a loaded default programme and member accounts with points."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.db.session import session_scope
from tenure.loyalty import ledger
from tenure.loyalty.models import LoyaltyEntry, LoyaltyLot, LoyaltyWallet
from tenure.loyalty.program import Program
from tenure.loyalty.service import load_program

from ..factories import add_account

# Run a test that takes any_engine on SQLite only (PostgreSQL runs cost ~2 s of migration).
SQLITE_ONLY = pytest.mark.parametrize("any_settings", ["sqlite"], indirect=True)


@pytest.fixture
def program(any_engine: sa.Engine, frozen_clock) -> Program:
    """Load the packaged programme into any_engine; return it."""
    with session_scope(any_engine) as session:
        loaded, _ = load_program(session, None)
    return loaded


@pytest.fixture
def member(any_engine: sa.Engine, frozen_clock) -> Callable[[int], int]:
    """Return a function that adds an account holding `points`; it returns the account id."""

    def make(points: int) -> int:
        with session_scope(any_engine) as session:
            account = add_account(session)
            ledger.ensure_wallets(session, [account.id])
            if points:
                ledger.credit(session, account.id, points, 12, reason="seed", kind="adjust")
            return account.id

    return make


def assert_books_balance(session: Session) -> None:
    """Assert the ledger invariants: entries sum to zero, wallets = entries = lots, none < 0."""
    total = session.execute(sa.select(sa.func.coalesce(sa.func.sum(LoyaltyEntry.amount), 0)))
    assert total.scalar_one() == 0
    for wallet in session.scalars(sa.select(LoyaltyWallet)):
        assert wallet.balance >= 0
        assert ledger.ledger_balance(session, wallet.account_id) == wallet.balance
        lots = session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(LoyaltyLot.remaining), 0)).where(
                LoyaltyLot.account_id == wallet.account_id
            )
        ).scalar_one()
        assert lots == wallet.balance
