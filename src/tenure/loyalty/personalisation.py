"""The `loyalty` variable of message templates, for many accounts in a few queries.

Members get their balance, tier and progress, points expiring within 30 days, last badge and
streak; holdout accounts, accounts not enrolled yet and books without a programme get None
(templates test `{% if loyalty %}`), so the holdout never hears of the programme.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.loyalty.engagement_models import LoyaltyStreak
from tenure.loyalty.ledger import BATCH
from tenure.loyalty.models import (
    LoyaltyBadgeAward,
    LoyaltyEnrolment,
    LoyaltyLot,
    LoyaltyWallet,
)
from tenure.loyalty.program import Program
from tenure.loyalty.service import current_program
from tenure.loyalty.statements import EXPIRING_DAYS
from tenure.loyalty.tiers import qualifying_levels


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield list(ids[start : start + BATCH])


def _members(session: Session, ids: Sequence[int]) -> list[int]:
    found: list[int] = []
    for chunk in _chunks(ids):
        query = sa.select(LoyaltyEnrolment.account_id).where(
            LoyaltyEnrolment.account_id.in_(chunk), LoyaltyEnrolment.arm == "member"
        )
        found.extend(session.scalars(query))
    return sorted(found)


def _grouped(session: Session, query_for: Any, ids: list[int]) -> dict[int, Any]:
    """Run query_for(chunk) per chunk of ids; return {account: rest of the row}."""
    rows: dict[int, Any] = {}
    for chunk in _chunks(ids):
        for account_id, *rest in session.execute(query_for(chunk)):
            rows[account_id] = rest
    return rows


def _reads(session: Session, ids: list[int], today: date) -> dict[str, dict[int, Any]]:
    """Return wallets, expiring points, last badges and streaks by account."""
    horizon = today + timedelta(days=EXPIRING_DAYS)
    lot, award = LoyaltyLot, LoyaltyBadgeAward
    latest = sa.func.row_number().over(
        partition_by=award.account_id, order_by=(award.awarded_at.desc(), award.badge.desc())
    )
    return {
        "wallet": _grouped(session, lambda c: sa.select(
            LoyaltyWallet.account_id, LoyaltyWallet.balance, LoyaltyWallet.tier
        ).where(LoyaltyWallet.account_id.in_(c)), ids),
        "expiring": _grouped(session, lambda c: sa.select(
            lot.account_id, sa.func.sum(lot.remaining), sa.func.min(lot.expires_on)
        ).where(lot.account_id.in_(c), lot.remaining > 0, lot.expires_on <= horizon)
         .group_by(lot.account_id), ids),
        "badge": _grouped(session, lambda c: sa.select(
            sa.select(award.account_id, award.badge, latest.label("n"))
            .where(award.account_id.in_(c)).subquery()
        ).where(sa.literal_column("n") == 1), ids),
        "streak": _grouped(session, lambda c: sa.select(
            LoyaltyStreak.account_id, LoyaltyStreak.current_weeks
        ).where(LoyaltyStreak.account_id.in_(c)), ids),
    }  # fmt: skip


def _variables(program: Program, account_id: int, reads: dict[str, dict[int, Any]]):
    balance, tier = reads["wallet"].get(account_id, (0, None))
    qualifying = reads["qualifying"].get(account_id, 0)
    tier_key = tier or program.tier_for(qualifying).key
    tiers = {t.key: t for t in program.tiers}
    upper = program.next_tier(tier_key)
    gap = max(program.level(upper) - qualifying, 0) if upper else None
    expiring, expiring_on = reads["expiring"].get(account_id, (0, None))
    badge = (reads["badge"].get(account_id) or [None, None])[0]
    names = {b.key: b.name for b in program.badges}
    return {
        "points": int(balance), "balance": int(balance), "tier": tier_key,
        "tier_name": tiers[tier_key].name if tier_key in tiers else tier_key,
        "next_tier": upper.key if upper else None,
        "points_to_next_tier": gap if program.tier_basis == "points" else None,
        "mrr_to_next_tier": gap if program.tier_basis == "mrr" else None,
        "expiring_30d": int(expiring or 0), "expiring_on": expiring_on,
        "last_badge": badge, "last_badge_name": names.get(badge, badge) if badge else None,
        "streak_weeks": int((reads["streak"].get(account_id) or [0])[0]),
    }  # fmt: skip


def loyalty_variables(
    session: Session, account_ids: Sequence[int], today: date, money: Money | None = None
) -> dict[int, dict[str, Any] | None]:
    """Return each account's `loyalty` template variable (None unless a programme member)."""
    program = current_program(session)
    result: dict[int, dict[str, Any] | None] = dict.fromkeys(account_ids)
    if program is None or not account_ids:
        return result
    members = _members(session, sorted(set(account_ids)))
    reads: dict[str, dict[int, Any]] = _reads(session, members, today)
    reads["qualifying"] = qualifying_levels(session, program, today, members, money)
    for account_id in members:
        result[account_id] = _variables(program, account_id, reads)
    return result
