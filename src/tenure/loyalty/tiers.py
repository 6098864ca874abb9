"""Tiers and badges from the ledger: promotion at once, demotion only at the review date.

Qualifying points are the points earned (net of clawbacks) in the 12 months up to the day;
grants and redemptions do not qualify. A programme with `tier_basis = "mrr"` qualifies on the
account's MRR in force on the day instead, in reporting-currency minor units. A wallet moves
up as soon as it qualifies for a higher tier; it moves down only on or after its
`tier_review_on`, which every tier change pushes `tier_review_months` ahead. Badges are
milestones counted from the ledger and awarded once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.mrr import instant_after
from tenure.accounts.schemas import Money
from tenure.loyalty.engagement_models import (
    LoyaltyChallengeProgress,
    LoyaltyStreak,
    LoyaltyTierChange,
)
from tenure.loyalty.ledger import BATCH, add_months, insert_for
from tenure.loyalty.models import LoyaltyBadgeAward, LoyaltyMovement, LoyaltyWallet
from tenure.loyalty.program import Badge, Program

QUALIFYING_KINDS = ("earn", "reverse")


def _chunks(account_ids: Sequence[int] | None) -> Iterator[list[int] | None]:
    """Yield the ids in chunks of BATCH (one None: every account)."""
    if account_ids is None:
        yield None
        return
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def qualifying_points(
    session: Session, as_of: date, account_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Return each account's net points earned in the 12 months up to as_of (None: all)."""
    movement = LoyaltyMovement
    found: dict[int, int] = {}
    for chunk in _chunks(account_ids):
        query = sa.select(movement.account_id, sa.func.sum(movement.points)).where(
            movement.kind.in_(QUALIFYING_KINDS),
            movement.occurred_at >= instant_after(add_months(as_of, -12)),
            movement.occurred_at < instant_after(as_of),
        )
        if chunk is not None:
            query = query.where(movement.account_id.in_(chunk))
        rows = session.execute(query.group_by(movement.account_id))
        found.update({a: max(int(total or 0), 0) for a, total in rows})
    return found


def qualifying_mrr(
    session: Session, as_of: date, money: Money, account_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Return each account's MRR in force on as_of, in reporting-currency minor units."""
    from tenure.accounts.service import mrr_in_force_query

    found: dict[int, int] = {}
    for chunk in _chunks(account_ids):
        query = mrr_in_force_query(db_session=session, day=as_of, money=money, account_ids=chunk)
        found.update({row.account_id: max(int(row.mrr or 0), 0) for row in session.execute(query)})
    return found


def qualifying_levels(
    session: Session,
    program: Program,
    as_of: date,
    account_ids: Sequence[int] | None = None,
    money: Money | None = None,
) -> dict[int, int]:
    """Return what each account qualifies with on the programme's basis (points or MRR)."""
    if program.tier_basis == "mrr":
        return qualifying_mrr(session, as_of, money or Money.default(), account_ids)
    return qualifying_points(session, as_of, account_ids)


def next_tier_for(program: Program, wallet: Any, qualifying: int, as_of: date) -> str | None:
    """Return the tier the wallet should hold on as_of (None: keep the current one)."""
    target = program.tier_for(qualifying).key
    keys = [t.key for t in program.tiers]
    current = wallet.tier if wallet.tier in keys else None
    if current is None or keys.index(target) > keys.index(current):
        return target
    review = wallet.tier_review_on
    if keys.index(target) < keys.index(current) and (review is None or review <= as_of):
        return target
    return None


def review_tiers(
    session: Session, program: Program, as_of: date, money: Money | None = None
) -> dict[str, int]:
    """Promote and (at review dates) demote wallets; return how many moved."""
    points = qualifying_levels(session, program, as_of, money=money)
    changes = []
    for wallet in session.execute(sa.select(LoyaltyWallet.account_id, LoyaltyWallet.tier,
                                            LoyaltyWallet.tier_review_on)):  # fmt: skip
        tier = next_tier_for(program, wallet, points.get(wallet.account_id, 0), as_of)
        if tier is not None and tier != wallet.tier:
            changes.append({"wallet": wallet.account_id, "tier": tier, "from": wallet.tier,
                            "review": add_months(as_of, program.tier_review_months)})  # fmt: skip
    if changes:
        table = LoyaltyWallet.__table__
        stmt = sa.update(table).where(table.c.account_id == sa.bindparam("wallet"))
        stmt = stmt.values(tier=sa.bindparam("tier"), tier_review_on=sa.bindparam("review"))
        session.execute(stmt, changes)
        record_tier_changes(session, program, changes, as_of)
    return {"tier_changes": len(changes)}


def record_tier_changes(
    session: Session, program: Program, changes: list[dict[str, Any]], as_of: date
) -> None:
    """Keep each tier change (promotion or demotion) for the journeys that greet them."""
    rank = {t.key: i for i, t in enumerate(program.tiers)}
    now = clock.now()
    rows = [
        {"account_id": c["wallet"], "from_tier": c["from"], "to_tier": c["tier"],
         "promoted": rank.get(c["tier"], 0) > rank.get(c["from"], 0),
         "changed_on": as_of, "recorded_at": now}
        for c in changes
    ]  # fmt: skip
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(LoyaltyTierChange), rows[start : start + BATCH])


def _badge_holders(session: Session, badge: Badge, as_of: date) -> list[int]:
    """Return the accounts that reached the badge's milestone by as_of."""
    if badge.streak_weeks is not None:
        return list(session.scalars(sa.select(LoyaltyStreak.account_id).where(
            LoyaltyStreak.longest_weeks >= badge.streak_weeks)))  # fmt: skip
    if badge.challenge is not None:
        progress = LoyaltyChallengeProgress
        return list(session.scalars(sa.select(progress.account_id).where(
            progress.challenge == badge.challenge, progress.completed_at.is_not(None),
            progress.completed_at < instant_after(as_of))))  # fmt: skip
    earned = sa.and_(
        LoyaltyMovement.kind == "earn", LoyaltyMovement.occurred_at < instant_after(as_of)
    )
    if badge.rule is not None:
        having = sa.func.count() >= badge.count
        earned = sa.and_(earned, LoyaltyMovement.rule == badge.rule)
    else:
        having = sa.func.sum(LoyaltyMovement.points) >= badge.lifetime_points
    query = sa.select(LoyaltyMovement.account_id).where(earned)
    return list(session.scalars(query.group_by(LoyaltyMovement.account_id).having(having)))


def award_badges(session: Session, program: Program, as_of: date) -> dict[str, int]:
    """Award every badge whose milestone an account reached; return new awards per badge."""
    awarded: dict[str, int] = {}
    now = clock.now()
    for badge in program.badges:
        rows = [{"account_id": a, "badge": badge.key, "awarded_at": now}
                for a in _badge_holders(session, badge, as_of)]  # fmt: skip
        new = 0
        for start in range(0, len(rows), BATCH):
            stmt = insert_for(session, LoyaltyBadgeAward).values(rows[start : start + BATCH])
            stmt = stmt.on_conflict_do_nothing(index_elements=["account_id", "badge"])
            # rows RETURNING counts new awards on both dialects (psycopg's rowcount here is -1)
            new += len(session.execute(stmt.returning(LoyaltyBadgeAward.badge)).all())
        awarded[badge.key] = new
    return awarded
