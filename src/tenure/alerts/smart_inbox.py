"""The smart inbox: one group per account with all its alerts, most expected MRR at risk first.

A group's priority is the account's MRR in force × its latest churn probability. Per owner the
groups are ranked by it; the first `budget` are today's, the rest wait for the digest. The
alert rows themselves are unchanged (acknowledge, snooze and resolve still act on each one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.alerts.budget import SCORE_MAX_AGE_DAYS
from tenure.alerts.inbox import PAGE_SIZE, severity_rank
from tenure.alerts.models import Alert
from tenure.alerts.rules import SEVERITIES
from tenure.alerts.service import alert_filters
from tenure.churn.models import ChurnScore
from tenure.errors import InputError


@dataclass
class AlertGroup:
    """One account's alerts in the inbox and why it ranks where it does (MRR in minor units)."""

    account_id: int
    account_name: str
    owner: str
    severity: str
    mrr: int
    churn_probability: float | None
    mrr_at_risk: float
    rank_in_owner: int
    in_budget: bool
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class GroupPage:
    """One page of groups, how many groups match, and the budget applied."""

    groups: list[AlertGroup]
    total: int
    page: int
    pages: int
    size: int
    budget: int


def _probabilities(day: date) -> sa.Subquery:
    newest = (
        sa.select(ChurnScore.account_id, sa.func.max(ChurnScore.as_of).label("as_of"))
        .where(
            ChurnScore.as_of <= day, ChurnScore.as_of >= day - timedelta(days=SCORE_MAX_AGE_DAYS)
        )
        .group_by(ChurnScore.account_id)
        .subquery()
    )
    return (
        sa.select(ChurnScore.account_id, ChurnScore.probability)
        .join(
            newest,
            (ChurnScore.account_id == newest.c.account_id) & (ChurnScore.as_of == newest.c.as_of),
        )
        .subquery()
    )


def _ranked(conditions: list, mrr: sa.Subquery, day: date) -> sa.Subquery:
    """Return one row per account: owner, worst severity, MRR, probability, priority, rank."""
    groups = (
        sa.select(
            Alert.account_id,
            sa.func.min(Alert.owner).label("owner"),
            sa.func.max(severity_rank()).label("severity"),
            sa.func.max(Alert.opened_at).label("newest"),
        )
        .where(*conditions)
        .group_by(Alert.account_id)
        .subquery()
    )
    probability = _probabilities(day)
    money = sa.func.coalesce(mrr.c.mrr, 0)
    at_risk = money * sa.func.coalesce(probability.c.probability, 0.0)
    order = (at_risk.desc(), groups.c.severity.desc(), groups.c.account_id)
    return (
        sa.select(
            groups,
            money.label("mrr"),
            probability.c.probability,
            at_risk.label("at_risk"),
            sa.func.row_number().over(partition_by=groups.c.owner, order_by=order).label("rank"),
        )
        .outerjoin(mrr, mrr.c.account_id == groups.c.account_id)
        .outerjoin(probability, probability.c.account_id == groups.c.account_id)
        .subquery()
    )


def grouped_inbox(
    *,
    db_session: Session,
    mrr: sa.Subquery,
    day: date,
    budget: int,
    status: str | None = "active",
    owner: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> GroupPage:
    """Return a page of account groups, most MRR at risk first, with each owner's budget marked.

    mrr is a subquery of (account_id, mrr) rows (the read model's MRR in force on day).
    """
    if page < 1:
        raise InputError(f"page must be 1 or more, got {page}")
    conditions = alert_filters(status, owner)
    ranked = _ranked(conditions, mrr, day)
    total = db_session.scalar(sa.select(sa.func.count()).select_from(ranked)) or 0
    pages = max(1, -(-total // size))
    page = min(page, pages)
    query = (
        sa.select(ranked, Account.name)
        .join(Account, Account.id == ranked.c.account_id)
        .order_by(ranked.c.at_risk.desc(), ranked.c.severity.desc(), ranked.c.newest.desc())
        .order_by(ranked.c.account_id)
        .limit(size)
        .offset((page - 1) * size)
    )
    groups = [_group(row, budget) for row in db_session.execute(query).mappings()]
    _attach_alerts(db_session, groups, conditions)
    return GroupPage(groups, total, page, pages, size, budget)


def _group(row: sa.RowMapping, budget: int) -> AlertGroup:
    rank = int(row["severity"])
    return AlertGroup(
        account_id=row["account_id"],
        account_name=row["name"],
        owner=row["owner"],
        severity=SEVERITIES[rank] if 0 <= rank < len(SEVERITIES) else "unknown",
        mrr=int(row["mrr"]),
        churn_probability=row["probability"],
        mrr_at_risk=float(row["at_risk"] or 0.0),
        rank_in_owner=int(row["rank"]),
        in_budget=int(row["rank"]) <= budget,
    )


def _attach_alerts(db_session: Session, groups: list[AlertGroup], conditions: list) -> None:
    """Fill each group's alerts, most severe first, newest first."""
    by_account = {g.account_id: g for g in groups}
    if not by_account:
        return
    query = (
        sa.select(Alert)
        .where(*conditions, Alert.account_id.in_(sorted(by_account)))
        .order_by(severity_rank().desc(), Alert.opened_at.desc(), Alert.id.desc())
    )
    for alert in db_session.scalars(query):
        by_account[alert.account_id].alerts.append(alert)
