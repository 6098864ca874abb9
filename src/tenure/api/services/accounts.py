"""The API's JSON for the account read model (`tenure.accounts.service`): presentation only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts import scores
from tenure.accounts.models import Subscription, Ticket
from tenure.accounts.mrr import instant_after
from tenure.accounts.schemas import AccountPage, AccountRow, AccountView
from tenure.alerts.service import alert_dict
from tenure.churn.models import ChurnScore
from tenure.errors import InputError
from tenure.events.models import InboxEvent, RecentEvent
from tenure.events.schemas import bounded_json
from tenure.health.models import HealthScore
from tenure.metrics.currency import to_major_units


def row_out(row: AccountRow) -> dict[str, Any]:
    """Return an account's list row."""
    return {
        "id": row.id,
        "external_id": row.external_id,
        "name": row.name,
        "owner": row.owner,
        "industry": row.industry,
        "region": row.region,
        "created_at": row.created_at,
        "mrr": row.mrr,
        "health_score": row.health_score,
        "health_tier": row.health_tier,
        "churn_probability": row.churn_probability,
        "risk_tier": row.risk_tier,
    }


def page_out(page: AccountPage) -> dict[str, Any]:
    """Return a page of the book as the API shows it."""
    items = [row_out(r) for r in page.rows]
    return {"total": page.total, "limit": page.limit, "offset": page.offset, "items": items}


def health_out(row: HealthScore) -> dict[str, Any]:
    """Return a health score as the API shows it."""
    return {
        "as_of": row.as_of,
        "scorecard": row.scorecard,
        "score": row.score,
        "tier": row.tier,
        "reason": row.reason,
        "change_7d": row.change_7d,
        "change_30d": row.change_30d,
        "measures": row.measures,
    }


def churn_out(row: ChurnScore) -> dict[str, Any]:
    """Return a churn score as the API shows it."""
    return {
        "as_of": row.as_of,
        "probability": row.probability,
        "risk_tier": row.risk_tier,
        "model_version": row.model_version,
        "horizon_days": row.horizon_days,
        "reasons": row.reasons,
    }


def latest_scores(session: Session, account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return account id -> latest health and churn score (None where never scored)."""
    found = scores.latest_scores(db_session=session, account_ids=account_ids)
    return {
        i: {"health": health_out(h) if h else None, "churn": churn_out(c) if c else None}
        for i, (h, c) in found.items()
    }


def _subscription_out(row: Subscription) -> dict[str, Any]:
    return {
        "external_id": row.external_id,
        "plan": row.plan,
        "status": row.status,
        "mrr": to_major_units(row.mrr, row.currency),
        "currency": row.currency,
        "quantity": row.quantity,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
    }


def servable_properties(properties: Any) -> Any:
    """Return stored properties, or a note in their place when they nest too deep to serve.

    Tracking refuses such JSON since the bounds were added; rows stored before may hold it.
    """
    try:
        bounded_json(properties or {}, "properties")
    except InputError as exc:
        return {"_withheld": str(exc)}
    return properties


def _event_out(e: InboxEvent | RecentEvent) -> dict[str, Any]:
    return {
        "message_id": e.message_id,
        "event": e.name,
        "ts": e.ts,
        "contact_id": e.contact_external_id,
        "properties": servable_properties(e.properties),
        "source": e.source,
    }


def _ticket_out(t: Ticket) -> dict[str, Any]:
    return {
        "external_id": t.external_id,
        "subject": t.subject,
        "opened_at": t.opened_at,
        "closed_at": t.closed_at,
        "priority": t.priority,
        "status": t.status,
        "csat": t.csat,
    }


def _contact_out(c: Any) -> dict[str, Any]:
    return {"external_id": c.external_id, "name": c.name, "email": c.email, "role": c.role}


def account_360_out(view: AccountView, now: datetime) -> dict[str, Any]:
    """Return the 360 as the API shows it (MRR points at each month's start, then now)."""
    account = view.account
    profile = {
        "id": account.id,
        "external_id": account.external_id,
        "name": account.name,
        "created_at": account.created_at,
        "industry": account.industry,
        "region": account.region,
        "owner": account.owner,
        "attributes": account.attributes,
        "contacts": view.contacts,
    }
    return {
        "profile": profile,
        "currency": view.currency,
        "mrr_history": [
            {"at": now if p.month is None else instant_after(p.day), "mrr": p.mrr}
            for p in view.mrr_history
        ],
        "subscriptions": [_subscription_out(s) for s in view.subscriptions],
        "health": health_out(view.health) if view.health else None,
        "health_history": [
            {"as_of": h.as_of, "score": h.score, "tier": h.tier, "reason": h.reason}
            for h in view.health_history
        ],
        "churn": churn_out(view.churn) if view.churn else None,
        "churn_history": [
            {"as_of": c.as_of, "probability": c.probability, "risk_tier": c.risk_tier}
            for c in view.churn_history
        ],
        "recent_events": None if view.events is None else [_event_out(e) for e in view.events],
        "event_counts": None
        if view.event_counts is None
        else [{"event": c.name, "total": c.total, "daily": c.counts} for c in view.event_counts],
        "tickets": [_ticket_out(t) for t in view.tickets],
        "alerts": [alert_dict(a) for a in view.alerts],
        "contacts": [_contact_out(c) for c in view.people],
        "messages": None if view.messages is None else [m.as_dict() for m in view.messages],
    }
