"""The 360 view of one account: profile, MRR history, health, churn, events, tickets, alerts."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact, Subscription, Ticket
from tenure.api.services.accounts import churn_out, get_account, health_out
from tenure.churn.models import ChurnScore
from tenure.events.models import InboxEvent
from tenure.health.models import HealthScore
from tenure.metrics.currency import minor_unit_factors, settings_rates
from tenure.metrics.months import month_of
from tenure.money import minor_exponent

HISTORY_DAYS = 180
MRR_MONTHS = 24


def _month_starts(now: datetime, count: int) -> list[datetime]:
    index = month_of(now)
    return [
        datetime(i // 12, i % 12 + 1, 1, tzinfo=UTC) for i in range(index - count + 1, index + 1)
    ]


def mrr_history(
    subscriptions: list[Subscription], *, rates: dict[str, float], currency: str
) -> list[dict[str, Any]]:
    """Return the MRR running at the start of each of the last 24 months and now."""
    codes = {s.currency for s in subscriptions}
    factors = minor_unit_factors(codes | {currency}, currency, settings_rates(rates))
    digits = minor_exponent(currency)
    now = clock.now()
    points = []
    for at in [*_month_starts(now, MRR_MONTHS), now]:
        minor = sum(
            s.mrr * factors[s.currency]
            for s in subscriptions
            if s.started_at <= at and (s.ended_at is None or s.ended_at > at)
        )
        points.append({"at": at, "mrr": round(minor / 10**digits, digits)})
    return points


def _subscription_out(row: Subscription) -> dict[str, Any]:
    return {
        "external_id": row.external_id,
        "plan": row.plan,
        "status": row.status,
        "mrr": round(row.mrr / 10 ** minor_exponent(row.currency), minor_exponent(row.currency)),
        "currency": row.currency,
        "quantity": row.quantity,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
    }


def _profile(session: Session, account: Account) -> dict[str, Any]:
    contacts = session.scalar(
        sa.select(sa.func.count()).select_from(Contact).where(Contact.account_id == account.id)
    )
    return {
        "id": account.id,
        "external_id": account.external_id,
        "name": account.name,
        "created_at": account.created_at,
        "industry": account.industry,
        "region": account.region,
        "owner": account.owner,
        "attributes": account.attributes,
        "contacts": contacts or 0,
    }


def _recent(session: Session, model: Any, account_id: int, order: Any, limit: int) -> list[Any]:
    return list(
        session.scalars(
            sa.select(model).where(model.account_id == account_id).order_by(order).limit(limit)
        )
    )


def _events(session: Session, account: Account, limit: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(InboxEvent)
        .where(InboxEvent.account_external_id == account.external_id)
        .order_by(InboxEvent.ts.desc())
        .limit(limit)
    )
    return [
        {
            "message_id": e.message_id,
            "event": e.name,
            "ts": e.ts,
            "contact_id": e.contact_external_id,
            "properties": e.properties,
            "source": e.source,
        }
        for e in rows
    ]


def _tickets(session: Session, account_id: int) -> list[dict[str, Any]]:
    return [
        {
            "external_id": t.external_id,
            "subject": t.subject,
            "opened_at": t.opened_at,
            "closed_at": t.closed_at,
            "priority": t.priority,
            "status": t.status,
            "csat": t.csat,
        }
        for t in _recent(session, Ticket, account_id, Ticket.opened_at.desc(), 20)
    ]


def account_alerts(session: Session, account_id: int) -> list[dict[str, Any]]:
    """Return the account's alerts when the alerts service is installed."""
    if importlib.util.find_spec("tenure.alerts.service") is None:
        return []
    from tenure.alerts import service as alerts_service

    rows = alerts_service.list_alerts(session, account_id=account_id, limit=50)
    return [alerts_service.alert_dict(a) for a in rows]


def account_360(
    session: Session,
    account_id: int,
    *,
    rates: dict[str, float],
    currency: str,
    with_events: bool,
) -> dict[str, Any]:
    """Return everything the API knows about one account."""
    account = get_account(session, account_id)
    subscriptions = _recent(session, Subscription, account.id, Subscription.started_at, 1000)
    health = _recent(session, HealthScore, account.id, HealthScore.as_of.desc(), HISTORY_DAYS)
    churn = _recent(session, ChurnScore, account.id, ChurnScore.as_of.desc(), HISTORY_DAYS)
    return {
        "profile": _profile(session, account),
        "currency": currency,
        "mrr_history": mrr_history(subscriptions, rates=rates, currency=currency),
        "subscriptions": [_subscription_out(s) for s in subscriptions],
        "health": health_out(health[0]) if health else None,
        "health_history": [
            {"as_of": h.as_of, "score": h.score, "tier": h.tier, "reason": h.reason}
            for h in reversed(health)
        ],
        "churn": churn_out(churn[0]) if churn else None,
        "churn_history": [
            {"as_of": c.as_of, "probability": c.probability, "risk_tier": c.risk_tier}
            for c in reversed(churn)
        ],
        "recent_events": _events(session, account, 50) if with_events else None,
        "tickets": _tickets(session, account.id),
        "alerts": account_alerts(session, account.id),
    }
