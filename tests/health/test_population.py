"""Health scores the accounts the churn definition keeps: paying, active, or both (auto)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tenure.db.session import session_scope
from tenure.health.daily import recompute_day
from tenure.health.models import HealthScore

from ..factories import add_account
from .conftest import DAY, at


def build(book) -> None:
    """Paying and used; paying and idle; free and used; free and idle; cancelled but used."""
    book.account("paying_used")
    book.account("paying_idle")
    book.account("cancelled_used", ended=DAY - timedelta(days=40))
    with session_scope(book.engine) as s:
        for name in ("free_used", "free_idle", "free_used_long_ago"):
            book.ids[name] = add_account(
                s, name, name=name, created_at=at(DAY - timedelta(days=200))
            ).id
    names, users = ["login", "report_viewed"], ["u1", "u2"]
    for name in ("paying_used", "free_used", "cancelled_used"):
        book.daily_events(name, DAY - timedelta(days=50), DAY - timedelta(days=3), names, users)
    book.daily_events(
        "free_used_long_ago", DAY - timedelta(days=90), DAY - timedelta(days=30), names, users
    )


def scored(book, kind: str) -> set[str]:
    settings = book.settings.model_copy(update={"churn_definition": kind})
    recompute_day(settings, book.engine, DAY)
    with session_scope(book.engine) as s:
        ids = s.scalars(select(HealthScore.account_id).where(HealthScore.as_of == DAY)).all()
    names = {v: k for k, v in book.ids.items()}
    return {names[i] for i in ids}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("subscription", {"paying_used", "paying_idle"}),
        ("auto", {"paying_used", "paying_idle", "free_used"}),
        ("inactivity", {"paying_used", "free_used", "cancelled_used"}),
    ],
)
def test_health_scores_the_accounts_of_the_churn_definition(book, kind, expected) -> None:
    build(book)
    assert scored(book, kind) == expected


def test_a_free_account_is_scored_on_its_use_with_no_seats_or_mrr(book) -> None:
    build(book)
    scored(book, "auto")
    with session_scope(book.engine) as s:
        row = s.scalars(
            select(HealthScore).where(HealthScore.account_id == book.ids["free_used"])
        ).one()
    assert row.measures["usage_breadth"]["value"] == 2
    assert row.measures["seat_utilisation"]["missing"]
