"""Loyalty moments worth a message: tier ups, points about to expire, badges, rewards.

Each finder returns (account id, when, why) for moments in [since, until]; the messaging
journeys turn them into entries. Holdout accounts have no wallet, movements or awards, so
they never appear.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.loyalty.engagement_models import LoyaltyTierChange
from tenure.loyalty.models import LoyaltyBadgeAward, LoyaltyLot, LoyaltyRedemption

Moment = tuple[int, datetime, str]


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def tier_ups(session: Session, since: datetime, until: datetime, to: str | None) -> list[Moment]:
    """Return promotions (to a tier, or any) recorded on days in [since, until]."""
    change = LoyaltyTierChange
    query = sa.select(change.account_id, change.changed_on, change.to_tier).where(
        change.promoted.is_(True),
        change.changed_on >= since.date(),
        change.changed_on <= until.date(),
    )
    if to is not None:
        query = query.where(change.to_tier == to)
    rows = session.execute(query.order_by(change.changed_on, change.id))
    return [(a, _start(day), f"reached loyalty tier {tier}") for a, day, tier in rows]


def points_expiring(
    session: Session, today: date, days_before: int, within_days: int, min_points: int
) -> list[Moment]:
    """Return accounts whose points expire `days_before` days ahead (warned once per account).

    A lot's warning day is its expiry minus days_before; accounts with a warning day in the
    last within_days and at least min_points still to expire on that date are returned, at
    their earliest such date.
    """
    first = today + timedelta(days=days_before - within_days)
    last = today + timedelta(days=days_before)
    points = sa.func.sum(LoyaltyLot.remaining)
    query = (
        sa.select(LoyaltyLot.account_id, LoyaltyLot.expires_on, points)
        .where(LoyaltyLot.remaining > 0, LoyaltyLot.expires_on >= first,
               LoyaltyLot.expires_on <= last)
        .group_by(LoyaltyLot.account_id, LoyaltyLot.expires_on)
        .having(points >= min_points)
        .order_by(LoyaltyLot.expires_on)
    )  # fmt: skip
    found: dict[int, Moment] = {}
    for account_id, expires_on, total in session.execute(query):
        why = f"{int(total)} loyalty points expire on {expires_on.isoformat()}"
        found.setdefault(account_id, (account_id, _start(expires_on - timedelta(days_before)), why))
    return list(found.values())


def badges_awarded(
    session: Session, since: datetime, until: datetime, badge: str | None
) -> list[Moment]:
    """Return badge awards in [since, until] (of one badge, or any)."""
    award = LoyaltyBadgeAward
    query = sa.select(award.account_id, award.awarded_at, award.badge).where(
        award.awarded_at >= since, award.awarded_at <= until
    )
    if badge is not None:
        query = query.where(award.badge == badge)
    rows = session.execute(query.order_by(award.awarded_at))
    return [(a, at, f"earned the badge {key}") for a, at, key in rows]


def rewards_approved(
    session: Session, since: datetime, until: datetime, reward: str | None
) -> list[Moment]:
    """Return redemptions fulfilled in [since, until]: at once, or by a manager's approval."""
    redemption = LoyaltyRedemption
    at = sa.func.coalesce(redemption.decided_at, redemption.requested_at)
    query = sa.select(redemption.account_id, at, redemption.reward_key).where(
        redemption.status == "fulfilled", at >= since, at <= until
    )
    if reward is not None:
        query = query.where(redemption.reward_key == reward)
    return [(a, when, f"reward {key} approved") for a, when, key in session.execute(query)]
