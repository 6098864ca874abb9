"""Read one account's 360 view: profile, MRR history, health and churn with reasons, activity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact, Subscription, Ticket
from tenure.churn.models import ChurnScore
from tenure.errors import NotFound
from tenure.events.models import InboxEvent
from tenure.health.models import HealthScore
from tenure.metrics.currency import minor_unit_factors
from tenure.metrics.months import month_of, month_text
from tenure.web.alerts import alerts_for_account
from tenure.web.service import Money

HISTORY_MONTHS = 12
RECENT = 15


def month_end_mrr(
    subscriptions: list[Subscription], money: Money, now: datetime, months: int = HISTORY_MONTHS
) -> list[dict[str, Any]]:
    """Return MRR at each of the last month-ends up to now (and now), in major units."""
    factors = minor_unit_factors({s.currency for s in subscriptions}, money.currency, money.rates)
    scale = 10**money.digits
    first = month_of(now) - months
    points = []
    for index in range(first, first + months + 1):
        at = datetime(index // 12 + (index % 12 == 11), (index + 1) % 12 + 1, 1, tzinfo=UTC)
        label = month_text(index)
        if at > now:
            at, label = now, "now"
        minor = sum(
            s.mrr * factors.get(s.currency, 0.0)
            for s in subscriptions
            if s.started_at < at and (s.ended_at is None or s.ended_at >= at)
        )
        points.append({"month": label, "mrr": round(minor / scale, money.digits)})
    return points


def _health_history(db_session: Session, account_id: int) -> list[HealthScore]:
    query = (
        sa.select(HealthScore)
        .where(HealthScore.account_id == account_id)
        .order_by(HealthScore.as_of.desc())
        .limit(400)
    )
    return list(reversed(db_session.scalars(query).all()))


def _churn_history(db_session: Session, account_id: int) -> list[ChurnScore]:
    query = (
        sa.select(ChurnScore)
        .where(ChurnScore.account_id == account_id)
        .order_by(ChurnScore.as_of.desc())
        .limit(400)
    )
    return list(reversed(db_session.scalars(query).all()))


def _recent(db_session: Session, model: Any, account_id: int, order: Any) -> list[Any]:
    query = sa.select(model).where(model.account_id == account_id).order_by(order).limit(RECENT)
    return list(db_session.scalars(query))


def recent_events(*, db_session: Session, account_id: int) -> list[InboxEvent]:
    """Return the account's newest events still in the inbox."""
    if db_session.get(Account, account_id) is None:
        raise NotFound(f"account {account_id} does not exist")
    return _recent(db_session, InboxEvent, account_id, InboxEvent.ts.desc())


def account_360(
    *, db_session: Session, account_id: int, money: Money, now: datetime
) -> dict[str, Any]:
    """Return everything the account page shows, or raise NotFound."""
    account = db_session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    subscriptions = list(
        db_session.scalars(
            sa.select(Subscription)
            .where(Subscription.account_id == account_id)
            .order_by(Subscription.started_at)
        )
    )
    mrr = month_end_mrr(subscriptions, money, now)
    health = _health_history(db_session, account_id)
    churn = _churn_history(db_session, account_id)
    contacts = db_session.scalar(sa.select(sa.func.count()).where(Contact.account_id == account_id))
    current = [s for s in subscriptions if s.ended_at is None or s.ended_at > now]
    return {
        "account": account,
        "plan": current[-1].plan if current else None,
        "seats": sum(s.quantity for s in current),
        "contacts": contacts or 0,
        "mrr_now": mrr[-1]["mrr"] if mrr else 0.0,
        "mrr_history": mrr,
        "subscriptions": subscriptions[-8:][::-1],
        "health": health[-1] if health else None,
        "health_history": health,
        "churn": churn[-1] if churn else None,
        "churn_history": churn,
        "events": _recent(db_session, InboxEvent, account_id, InboxEvent.ts.desc()),
        "tickets": _recent(db_session, Ticket, account_id, Ticket.opened_at.desc()),
        "alerts": alerts_for_account(db_session=db_session, account_id=account_id),
    }
