"""Earning's building blocks read from the app DB: each rule's history and account facts.

`rule_history` gives, per (account, rule), the earnings before a day (in total, in that day's
month, the last one): the state the event earning of a window (`event_earning`) and the fact
rules (the stage) start from. `account_facts` gives each member's seats or MRR in force, days
since creation or latest health score on a day, for the fact rules' `at_least`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Subscription
from tenure.accounts.mrr import in_force, instant_after
from tenure.health.models import HealthScore
from tenure.loyalty.models import LoyaltyMovement


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def rule_history(
    session: Session, rules: list[str], day: date, movement: Any = LoyaltyMovement
) -> dict[str, list[Any]]:
    """Return per (owner, rule) earned so far: total, in day's month, and the last time.

    The owner is the account (`LoyaltyMovement`) or, given `LoyaltyContactMovement`, the contact;
    either way its column is returned as `account_id`, the name the earning queries read.
    """
    m = movement
    owner = m.contact_id if hasattr(m, "contact_id") else m.account_id
    in_month = sa.case((m.occurred_at >= _day_start(day.replace(day=1)), 1), else_=0)
    query = (
        sa.select(owner, m.rule, sa.func.count(), sa.func.sum(in_month), sa.func.max(m.occurred_at))
        .where(m.kind == "earn", m.rule.in_(rules), m.occurred_at < _day_start(day))
        .group_by(owner, m.rule)
    )
    columns: dict[str, list[Any]] = {
        k: [] for k in ("account_id", "rule", "n_total", "n_month", "last_at")
    }
    for row in session.execute(query):
        for key, value in zip(columns, row, strict=True):
            columns[key].append(value)
    return columns


def account_facts(session: Session, fact: str, members: list[int], day: date) -> dict[int, float]:
    """Return each member's value of a fact on day (seats, mrr, tenure_days, health_score)."""
    instant = instant_after(day)
    if fact in ("seats", "mrr"):
        column = Subscription.quantity if fact == "seats" else Subscription.mrr
        query = (
            sa.select(Subscription.account_id, sa.func.sum(column))
            .where(in_force(Subscription.started_at, Subscription.ended_at, instant))
            .group_by(Subscription.account_id)
        )
    elif fact == "tenure_days":
        query = sa.select(Account.id, Account.created_at).where(Account.created_at < instant)
        return {a: (instant - at).days for a, at in session.execute(query) if a in set(members)}
    else:
        latest = (
            sa.select(HealthScore.account_id, sa.func.max(HealthScore.as_of).label("day"))
            .where(HealthScore.as_of <= day)
            .group_by(HealthScore.account_id)
            .subquery()
        )
        query = (
            sa.select(HealthScore.account_id, sa.func.max(HealthScore.score))
            .join(
                latest,
                (latest.c.account_id == HealthScore.account_id)
                & (latest.c.day == HealthScore.as_of),
            )
            .group_by(HealthScore.account_id)
        )
    wanted = set(members)
    return {a: float(v) for a, v in session.execute(query) if a in wanted and v is not None}
