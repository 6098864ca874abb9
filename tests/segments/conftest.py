"""A tiny hand-built book of accounts for segment tests (figures computed by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tenure.accounts.models import Account, Subscription
from tenure.db.session import session_scope

AS_OF = date(2025, 6, 30)  # trailing month starts 2025-05-30


def at(year: int, month: int, day: int) -> datetime:
    """Return midnight UTC of a day."""
    return datetime(year, month, day, tzinfo=UTC)


ACCOUNTS = [
    # external_id, name, industry, created_at, attributes
    ("a1", "Acme", "software", at(2024, 1, 15), {"tier": "gold", "employees": 120}),
    ("a2", "Beta", "software", at(2024, 6, 1), {"tier": "silver", "employees": 40}),
    ("a3", "Gamma", "retail", at(2025, 1, 1), {}),
    ("a4", "Delta", "software", at(2024, 3, 1), {"tier": "gold"}),
    ("a5", "Eps", "software", at(2025, 6, 20), {"tier": "silver"}),
    ("a6", "Zeta", "software", at(2025, 7, 5), {}),
]
SUBSCRIPTIONS = [
    # account, plan, mrr (cents), quantity, started_at, ended_at
    ("a1", "pro", 60000, 10, at(2024, 2, 1), None),
    ("a2", "enterprise", 80000, 20, at(2024, 6, 1), at(2025, 6, 10)),
    ("a2", "enterprise", 100000, 25, at(2025, 6, 10), None),
    ("a3", "pro", 30000, 5, at(2025, 1, 1), None),
    ("a4", "pro", 70000, 8, at(2024, 3, 1), at(2025, 6, 15)),
    ("a5", "starter", 10000, 2, at(2025, 6, 20), None),
    ("a6", "pro", 50000, 5, at(2025, 7, 5), None),
]


def seed_book(engine) -> dict[str, int]:
    """Write ACCOUNTS and SUBSCRIPTIONS; return external_id → account id."""
    with session_scope(engine) as session:
        accounts = {}
        for external_id, name, industry, created_at, attributes in ACCOUNTS:
            account = Account(
                external_id=external_id,
                name=name,
                industry=industry,
                region="EU",
                created_at=created_at,
                attributes=attributes,
            )
            session.add(account)
            accounts[external_id] = account
        session.flush()
        for i, (ext, plan, mrr, quantity, started, ended) in enumerate(SUBSCRIPTIONS):
            session.add(
                Subscription(
                    account_id=accounts[ext].id,
                    external_id=f"s{i}",
                    plan=plan,
                    status="active" if ended is None else "canceled",
                    mrr=mrr,
                    currency="USD",
                    quantity=quantity,
                    billing_interval="month",
                    started_at=started,
                    ended_at=ended,
                )
            )
        return {ext: a.id for ext, a in accounts.items()}


@pytest.fixture
def book(engine) -> dict[str, int]:
    """Return the ids of the hand-built book, written to the test's SQLite app DB."""
    return seed_book(engine)
