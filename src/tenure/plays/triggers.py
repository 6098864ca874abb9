"""Which accounts a play's trigger and eligibility admit on a day (set-based queries)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.mrr import instant_after
from tenure.alerts.evaluation import renewals_within
from tenure.alerts.models import Alert
from tenure.churn.models import ChurnScore
from tenure.health.models import HealthScore
from tenure.plays.definitions import Eligibility, Trigger
from tenure.plays.models import PlayRun
from tenure.segments.models import Segment, SegmentMembership

OPEN_ALERT_STATUSES = ("open", "acknowledged", "snoozed")


def _latest_tier(session: Session, model: type, column: sa.Column, day: date, tiers: list[str]):
    newest = (
        sa.select(model.account_id, sa.func.max(model.as_of).label("as_of"))
        .where(model.as_of <= day)
        .group_by(model.account_id)
        .subquery()
    )
    query = (
        sa.select(model.account_id, column)
        .join(newest, (model.account_id == newest.c.account_id) & (model.as_of == newest.c.as_of))
        .where(column.in_(tiers))
    )
    return {account_id: tier for account_id, tier in session.execute(query)}


def segment_members(session: Session, name: str, day: date) -> set[int]:
    """Return the accounts in a stored segment on its latest evaluation on or before day."""
    latest = (
        sa.select(sa.func.max(SegmentMembership.as_of))
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(Segment.name == name, SegmentMembership.as_of <= day)
        .scalar_subquery()
    )
    query = (
        sa.select(SegmentMembership.account_id)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(Segment.name == name, SegmentMembership.as_of == latest)
    )
    return set(session.scalars(query))


def _renewals(session: Session, day: date, days_before: int) -> dict[int, str]:
    due = renewals_within(session, day, days_before)
    return {a: f"renewal on {renews.isoformat()}" for a, renews in due.items()}


def triggered(session: Session, trigger: Trigger, day: date) -> dict[int, str]:
    """Return account id -> why the trigger fires for it on day."""
    if trigger.kind == "health_tier":
        found = _latest_tier(session, HealthScore, HealthScore.tier, day, trigger.tiers)
        return {a: f"health tier {tier}" for a, tier in found.items()}
    if trigger.kind == "churn_risk":
        found = _latest_tier(session, ChurnScore, ChurnScore.risk_tier, day, trigger.tiers)
        return {a: f"churn risk {tier}" for a, tier in found.items()}
    if trigger.kind == "alert":
        query = sa.select(Alert.account_id).where(
            Alert.rule == trigger.rule,
            Alert.status.in_(OPEN_ALERT_STATUSES),
            Alert.opened_at < instant_after(day),
        )
        return {a: f"open alert {trigger.rule}" for a in session.scalars(query)}
    if trigger.kind == "segment":
        return {
            a: f"in segment {trigger.segment}"
            for a in segment_members(session, trigger.segment or "", day)
        }
    if trigger.kind == "renewal_window":
        return _renewals(session, day, trigger.days_before)
    return {}  # manual: accounts enter through `tenure plays run --account`


def eligible(
    session: Session, play_id: int, rules: Eligibility, day: date, candidates: Collection[int]
) -> set[int]:
    """Return the candidates the eligibility rules admit: segment, cool-down, concurrency."""
    admitted = set(candidates)
    if rules.segment:
        admitted &= segment_members(session, rules.segment, day)
    if not admitted:
        return admitted
    since = day - timedelta(days=rules.cooldown_days)
    recent = sa.select(PlayRun.account_id).where(
        PlayRun.play_id == play_id, PlayRun.started_on > since, PlayRun.started_on <= day
    )
    admitted -= set(session.scalars(recent))
    busy = (
        sa.select(PlayRun.account_id)
        .where(PlayRun.status == "active", PlayRun.arm == "treated")
        .group_by(PlayRun.account_id)
        .having(sa.func.count() >= rules.max_concurrent)
    )
    return admitted - set(session.scalars(busy))
