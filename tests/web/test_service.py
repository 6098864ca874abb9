"""The dashboard's account book queries on SQLite and PostgreSQL, against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tenure.accounts.models import Account, Subscription
from tenure.accounts.schemas import Money
from tenure.accounts.scores import tier_distribution
from tenure.accounts.service import mrr_history
from tenure.churn.models import ChurnScore
from tenure.db.session import session_scope
from tenure.health.models import HealthScore
from tenure.web.service import list_accounts, parse_filters

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
DAY = date(2025, 6, 30)
MONEY = Money("USD", {"USD": Decimal("1"), "EUR": Decimal("1.1"), "GBP": Decimal("1.25")})
# name, owner, (mrr minor units, currency) rows in force now, health (score, tier), churn p
BOOK = {
    "Acme": ("ann@x.com", [(10_000, "USD"), (5_000, "EUR")], (40.0, "red"), 0.5),
    "Birch": ("bob@x.com", [(20_000, "GBP")], (80.0, "green"), 0.1),
    "Cedar": ("ann@x.com", [(30_000, "USD")], (60.0, "yellow"), 0.05),
    "Dune": (None, [], None, None),  # never paid, never scored
}


@pytest.fixture
def book(any_engine):
    """Store the four accounts above (plus an ended subscription that must not count)."""
    with session_scope(any_engine) as session:
        for i, (name, (owner, rows, health, churn)) in enumerate(BOOK.items()):
            account = Account(
                external_id=f"a{i}", name=name, owner=owner, created_at=NOW, attributes={}
            )
            session.add(account)
            session.flush()
            for j, (mrr, currency) in enumerate(rows):
                session.add(_subscription(account.id, f"s{i}{j}", mrr, currency, None))
            session.add(_subscription(account.id, f"old{i}", 99_999, "USD", NOW.replace(month=1)))
            if health:
                session.add(_health(account.id, *health))
            if churn is not None:
                session.add(_churn(account.id, churn))
    return any_engine


def _subscription(account_id, external_id, mrr, currency, ended_at):
    started = datetime(2024, 1, 1, tzinfo=UTC)
    return Subscription(
        account_id=account_id, external_id=external_id, plan="pro", status="active", mrr=mrr,
        currency=currency, quantity=1, started_at=started, ended_at=ended_at,
    )  # fmt: skip


def _health(account_id, score, tier):
    return HealthScore(
        account_id=account_id, as_of=DAY, scorecard="default", score=score, tier=tier,
        measures={}, updated_at=NOW,
    )  # fmt: skip


def _churn(account_id, probability):
    tier = "high" if probability >= 0.3 else "medium" if probability >= 0.1 else "low"
    return ChurnScore(
        account_id=account_id, as_of=DAY, horizon_days=90, model_version="t", scored_at=NOW,
        probability=probability, risk_tier=tier, reasons=[],
    )  # fmt: skip


def _rows(engine, **query):
    with session_scope(engine) as session:
        page = list_accounts(db_session=session, filters=parse_filters(query), money=MONEY, day=DAY)
    return page.total, [(r.name, round(r.mrr, 2), round(r.at_risk, 2)) for r in page.rows]


def test_accounts_are_ranked_by_mrr_at_risk_in_the_reporting_currency(book):
    # Acme 100 + 50 × 1.1 = 155 → at risk 77.5; Birch 200 × 1.25 = 250 → 25; Cedar 300 → 15.
    total, rows = _rows(book)
    assert total == 4
    assert rows == [("Acme", 155.0, 77.5), ("Birch", 250.0, 25.0), ("Cedar", 300.0, 15.0),
                    ("Dune", 0.0, 0.0)]  # fmt: skip


def test_filters_combine(book):
    assert _rows(book, owner="ann@x.com", sort="mrr")[1][0][0] == "Cedar"
    assert [r[0] for r in _rows(book, mrr_min="156", mrr_max="260")[1]] == ["Birch"]
    assert [r[0] for r in _rows(book, tier="red")[1]] == ["Acme"]
    assert [r[0] for r in _rows(book, risk="low", q="CED")[1]] == ["Cedar"]
    assert [r[0] for r in _rows(book, sort="health")[1]] == ["Acme", "Cedar", "Birch", "Dune"]


def test_tier_distribution_counts_the_latest_day(book):
    with session_scope(book) as session:
        tiers = tier_distribution(db_session=session)
    assert {t: v["accounts"] for t, v in tiers.health.items()} == {
        "red": 1,
        "green": 1,
        "yellow": 1,
    }
    assert tiers.risk == {"high": 1, "medium": 1, "low": 1}
    assert tiers.health_day == tiers.churn_day == DAY


def test_month_end_mrr_follows_the_subscription_rows(any_engine):
    with session_scope(any_engine) as session:
        account = Account(external_id="m", name="M", owner=None, created_at=NOW, attributes={})
        session.add(account)
        session.flush()
        rows = [
            _subscription(account.id, "a", 10_000, "USD", datetime(2025, 3, 10, tzinfo=UTC)),
            _subscription(account.id, "b", 12_000, "USD", None),
        ]
        rows[1].started_at = datetime(2025, 3, 10, tzinfo=UTC)
        session.add_all(rows)
        session.flush()
        points = mrr_history(
            db_session=session, account_id=account.id, money=MONEY, today=DAY, months=4
        )
    assert [(p.day.isoformat(), p.mrr) for p in points] == [
        ("2025-02-28", 100.0),
        ("2025-03-31", 120.0),
        ("2025-04-30", 120.0),
        ("2025-05-31", 120.0),
        ("2025-06-30", 120.0),
    ]
