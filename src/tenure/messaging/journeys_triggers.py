"""Entry triggers: which accounts (or contacts) entered a journey's condition, and when.

Each trigger looks back `within_days` from now for an *edge* (a segment joined, a tier reached,
an event, an alert opened, a renewal coming into range, a loyalty moment: tier up, points
expiring, badge earned, reward approved); re-entry rules decide whether an edge
enrols again. Manual journeys have no trigger here (enrolment comes from the CLI or API).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Contact, Subscription
from tenure.accounts.mrr import in_force
from tenure.alerts.evaluation import next_anniversary
from tenure.alerts.models import Alert
from tenure.churn.models import ChurnScore
from tenure.events.models import InboxEvent, RecentEvent
from tenure.health.models import HealthScore
from tenure.loyalty import notices
from tenure.messaging import journeys_spec as spec
from tenure.segments.models import Segment, SegmentMembership

TRANSITION_HISTORY_DAYS = 60  # how far back a tier's previous value is looked for


@dataclass(frozen=True)
class Entry:
    """That an account (and, for contact events, a contact) met the trigger at a time."""

    account_id: int
    contact_id: int | None
    at: datetime
    why: str


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def segment_entries(session: Session, trigger: spec.SegmentEntry, now: datetime) -> list[Entry]:
    """Accounts in a segment on an evaluated date that were not in it on the date before."""
    segment = session.scalar(sa.select(Segment).where(Segment.name == trigger.segment))
    if segment is None:
        return []
    start = now.date() - timedelta(days=trigger.within_days)
    dates = sorted(
        session.scalars(
            sa.select(SegmentMembership.as_of)
            .where(
                SegmentMembership.segment_id == segment.id, SegmentMembership.as_of <= now.date()
            )
            .distinct()
        )
    )
    entries: list[Entry] = []
    for previous, current in itertools.pairwise(dates):
        if current < start:
            continue
        joined = _members(session, segment.id, current) - _members(session, segment.id, previous)
        why = f"entered segment {trigger.segment}"
        entries.extend(Entry(a, None, _day_start(current), why) for a in sorted(joined))
    return entries


def _members(session: Session, segment_id: int, day: date) -> set[int]:
    query = sa.select(SegmentMembership.account_id).where(
        SegmentMembership.segment_id == segment_id, SegmentMembership.as_of == day
    )
    return set(session.scalars(query))


def event_entries(session: Session, trigger: spec.EventTrigger, now: datetime) -> list[Entry]:
    """The latest event of the name per account and contact, from the inbox and recent events."""
    since = now - timedelta(days=trigger.within_days)
    latest: dict[tuple[int, str | None], datetime] = {}
    for table in (InboxEvent, RecentEvent):
        query = (
            sa.select(table.account_id, table.contact_external_id, sa.func.max(table.ts))
            .where(table.name == trigger.event, table.ts >= since, table.ts <= now)
            .where(table.account_id.is_not(None))
            .group_by(table.account_id, table.contact_external_id)
        )
        for account_id, contact, ts in session.execute(query):
            key = (account_id, contact)
            latest[key] = max(_aware(ts), latest.get(key, _aware(ts)))
    contacts = _contact_ids(session, {c for _, c in latest if c})
    return [
        Entry(account_id, contacts.get(contact) if contact else None, at, f"event {trigger.event}")
        for (account_id, contact), at in sorted(latest.items(), key=lambda kv: kv[1])
    ]


def _contact_ids(session: Session, external_ids: set[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    query = sa.select(Contact.external_id, Contact.id).where(
        Contact.external_id.in_(sorted(external_ids))
    )
    return dict(session.execute(query).tuples())


def _transitions(
    session: Session, table: Any, column: Any, now: datetime, within_days: int
) -> list[tuple[int, date, Any, Any]]:
    """Return (account, day, value, previous value) of each scored day in the look-back."""
    start = now.date() - timedelta(days=within_days)
    history = now.date() - timedelta(days=within_days + TRANSITION_HISTORY_DAYS)
    previous = sa.func.lag(column).over(partition_by=table.account_id, order_by=table.as_of)
    inner = (
        sa.select(table.account_id, table.as_of, column.label("value"), previous.label("prev"))
        .where(table.as_of >= history, table.as_of <= now.date())
        .subquery()
    )
    query = sa.select(inner.c.account_id, inner.c.as_of, inner.c.value, inner.c.prev).where(
        inner.c.as_of >= start, inner.c.prev.is_not(None)
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def health_entries(session: Session, trigger: spec.HealthTrigger, now: datetime) -> list[Entry]:
    """Accounts whose health tier became `to`, or whose score fell below `score_below`."""
    if trigger.to is not None:
        rows = _transitions(session, HealthScore, HealthScore.tier, now, trigger.within_days)
        hits = [(a, d) for a, d, tier, prev in rows if tier == trigger.to and prev != trigger.to]
        why = f"health tier became {trigger.to}"
    else:
        rows = _transitions(session, HealthScore, HealthScore.score, now, trigger.within_days)
        floor = trigger.score_below
        hits = [(a, d) for a, d, score, prev in rows if score < floor <= prev]
        why = f"health score fell below {floor:g}"
    return [Entry(a, None, _day_start(d), why) for a, d in hits]


def churn_risk_entries(
    session: Session, trigger: spec.ChurnRiskTrigger, now: datetime
) -> list[Entry]:
    """Accounts whose churn-risk tier became `to`."""
    rows = _transitions(session, ChurnScore, ChurnScore.risk_tier, now, trigger.within_days)
    why = f"churn risk became {trigger.to}"
    return [
        Entry(a, None, _day_start(d), why)
        for a, d, tier, prev in rows
        if tier == trigger.to and prev != trigger.to
    ]


def alert_entries(session: Session, trigger: spec.AlertTrigger, now: datetime) -> list[Entry]:
    """Accounts on which an alert of the rule opened in the look-back."""
    since = now - timedelta(days=trigger.within_days)
    query = sa.select(Alert.account_id, Alert.opened_at).where(
        Alert.rule == trigger.rule, Alert.opened_at >= since, Alert.opened_at <= now
    )
    why = f"alert {trigger.rule} opened"
    return [Entry(a, None, _aware(at), why) for a, at in session.execute(query)]


def renewal_entries(session: Session, trigger: spec.RenewalTrigger, now: datetime) -> list[Entry]:
    """Accounts with an annual renewal `days_before` days away (or came in range lately)."""
    today = now.date()
    query = sa.select(Subscription.account_id, Subscription.started_at).where(
        Subscription.billing_interval == "year",
        in_force(Subscription.started_at, Subscription.ended_at, now),
    )
    entries: dict[int, Entry] = {}
    for account_id, started in session.execute(query):
        renews = next_anniversary(started.date(), today)
        opens = renews - timedelta(days=trigger.days_before)
        if today - timedelta(days=trigger.within_days) <= opens <= today:
            why = f"renewal on {renews.isoformat()}"
            entries[account_id] = Entry(account_id, None, _day_start(opens), why)
    return list(entries.values())


def loyalty_entries(session: Session, trigger: spec.LoyaltyTrigger, now: datetime) -> list[Entry]:
    """Accounts that had the trigger's loyalty moment (tier up, expiry, badge, reward)."""
    since = now - timedelta(days=trigger.within_days)
    if trigger.kind == "loyalty_tier_up":
        moments = notices.tier_ups(session, since, now, trigger.only)
    elif trigger.kind == "loyalty_points_expiring":
        moments = notices.points_expiring(
            session, now.date(), trigger.days_before, trigger.within_days, trigger.min_points
        )
    elif trigger.kind == "loyalty_badge":
        moments = notices.badges_awarded(session, since, now, trigger.only)
    else:
        moments = notices.rewards_approved(session, since, now, trigger.only)
    return [Entry(account_id, None, _aware(at), why) for account_id, at, why in moments]


FINDERS = {
    "segment_entry": segment_entries,
    "event": event_entries,
    "health_tier": health_entries,
    "churn_risk": churn_risk_entries,
    "alert": alert_entries,
    "renewal": renewal_entries,
    **dict.fromkeys(
        ("loyalty_tier_up", "loyalty_points_expiring", "loyalty_badge", "loyalty_reward_approved"),
        loyalty_entries,
    ),
}


def entries_for(session: Session, journey: spec.JourneySpec) -> list[Entry]:
    """Return the trigger's entries as of now (none for a manual journey)."""
    finder = FINDERS.get(journey.trigger.kind)
    if finder is None:
        return []
    return finder(session, journey.trigger, clock.now())  # type: ignore[arg-type]
