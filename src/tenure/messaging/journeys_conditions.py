"""Branch conditions, goals and churn: what an enrollment's account did since it entered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Subscription
from tenure.accounts.mrr import in_force
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.events.models import EventDailyCounts, InboxEvent, RecentEvent
from tenure.health.models import HealthScore
from tenure.messaging import journeys_spec as spec
from tenure.messaging.models import JourneyEnrollment, Message
from tenure.segments.models import Segment, SegmentMembership


def _last_message(session: Session, enrollment: JourneyEnrollment) -> Message | None:
    query = (
        sa.select(Message)
        .where(Message.enrollment_id == enrollment.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def event_days(session: Session, account_id: int, names: list[str], since: datetime) -> set[date]:
    """Return the days (UTC) on which the account had one of the events, since a time."""
    days: set[date] = set()
    for table in (InboxEvent, RecentEvent):
        query = sa.select(table.ts).where(
            table.account_id == account_id, table.name.in_(names), table.ts >= since
        )
        days.update(ts.date() for ts in session.scalars(query))
    daily = sa.select(EventDailyCounts.counts).where(
        EventDailyCounts.account_id == account_id, EventDailyCounts.name.in_(names)
    )
    for counts in session.scalars(daily):
        days.update(
            date.fromisoformat(day)
            for day, n in (counts or {}).items()
            if n and day >= since.date().isoformat()
        )
    return days


def longest_streak(days: set[date]) -> int:
    """Return the length of the longest run of consecutive days."""
    best = 0
    for day in days:
        if day - timedelta(days=1) in days:
            continue
        length = 1
        while day + timedelta(days=length) in days:
            length += 1
        best = max(best, length)
    return best


def _latest(session: Session, table: type, column: sa.ColumnElement, account_id: int) -> str | None:
    query = (
        sa.select(column)
        .where(table.account_id == account_id)  # type: ignore[attr-defined]
        .order_by(table.as_of.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return session.scalar(query)


def in_segment(session: Session, account_id: int, name: str) -> bool:
    """Return whether the account is in the segment's latest evaluated membership."""
    segment_id = session.scalar(sa.select(Segment.id).where(Segment.name == name))
    if segment_id is None:
        return False
    latest = session.scalar(
        sa.select(sa.func.max(SegmentMembership.as_of)).where(
            SegmentMembership.segment_id == segment_id
        )
    )
    query = sa.select(SegmentMembership.account_id).where(
        SegmentMembership.segment_id == segment_id,
        SegmentMembership.as_of == latest,
        SegmentMembership.account_id == account_id,
    )
    return session.scalar(query) is not None


def holds(session: Session, enrollment: JourneyEnrollment, condition: spec.Condition) -> bool:
    """Return whether a branch condition holds for an enrollment now."""
    if condition.kind in ("opened", "clicked"):
        message = _last_message(session, enrollment)
        if message is None:
            return False
        stamp = message.first_opened_at if condition.kind == "opened" else message.first_clicked_at
        return stamp is not None
    account_id = enrollment.account_id
    if condition.kind == "event":
        assert condition.event is not None
        return bool(event_days(session, account_id, [condition.event], enrollment.entered_at))
    if condition.kind == "segment":
        assert condition.segment is not None
        return in_segment(session, account_id, condition.segment)
    if condition.kind == "health_tier":
        return _latest(session, HealthScore, HealthScore.tier, account_id) == condition.tier
    return _latest(session, ChurnScore, ChurnScore.risk_tier, account_id) == condition.tier


def mrr_in_force(session: Session, account_id: int, at: datetime) -> int | None:
    """Return the account's summed MRR in force at a time (None with no subscription)."""
    query = sa.select(sa.func.sum(Subscription.mrr)).where(
        Subscription.account_id == account_id,
        in_force(Subscription.started_at, Subscription.ended_at, at),
    )
    return session.scalar(query)


def goal_reached(
    session: Session,
    settings: Settings,
    enrollment: JourneyEnrollment,
    goal: spec.Goal,
    now: datetime,
) -> bool:
    """Return whether the account reached a goal since the enrollment began."""
    entered = enrollment.entered_at.astimezone(UTC)
    if goal.kind == "upgraded":
        before = mrr_in_force(session, enrollment.account_id, entered) or 0
        return (mrr_in_force(session, enrollment.account_id, now) or 0) > before
    names = [goal.event] if goal.event else list(settings.health_login_events)
    days = event_days(session, enrollment.account_id, names, entered)
    if goal.kind == "event":
        return bool(days)
    return longest_streak(days) >= goal.days


def churned(session: Session, enrollment: JourneyEnrollment, now: datetime) -> bool:
    """Return whether the account had MRR in force at entry and has none now."""
    entered = enrollment.entered_at.astimezone(UTC)
    had = mrr_in_force(session, enrollment.account_id, entered)
    return had is not None and mrr_in_force(session, enrollment.account_id, now) is None
