"""What a member sees: balance, tier and progress, badges, points expiring, ledger lines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.accounts.schemas import Money
from tenure.loyalty.contact_wallets import contact_balances
from tenure.loyalty.engagement_models import LoyaltyChallengeProgress, LoyaltyStreak
from tenure.loyalty.models import (
    LoyaltyBadgeAward,
    LoyaltyEnrolment,
    LoyaltyLot,
    LoyaltyMovement,
    LoyaltyWallet,
)
from tenure.loyalty.program import Program
from tenure.loyalty.tiers import qualifying_mrr, qualifying_points

EXPIRING_DAYS = 30


def _expiring(session: Session, account_id: int) -> list[dict[str, Any]]:
    """Return the points expiring in the next 30 days, per expiry date."""
    today = clock.now().date()
    query = (
        sa.select(LoyaltyLot.expires_on, sa.func.sum(LoyaltyLot.remaining))
        .where(
            LoyaltyLot.account_id == account_id,
            LoyaltyLot.remaining > 0,
            LoyaltyLot.expires_on <= today + timedelta(days=EXPIRING_DAYS),
        )
        .group_by(LoyaltyLot.expires_on)
        .order_by(LoyaltyLot.expires_on)
    )
    return [{"on": day.isoformat(), "points": int(n)} for day, n in session.execute(query)]


def tier_progress(
    session: Session, program: Program, account_id: int, money: Money | None = None
) -> dict[str, Any]:
    """Return the account's qualifying points, its MRR on an MRR basis, and what qualifies."""
    today = clock.now().date()
    points = qualifying_points(session, today, [account_id]).get(account_id, 0)
    by_mrr = program.tier_basis == "mrr"
    mrr = qualifying_mrr(session, today, money or Money.default(), [account_id]) if by_mrr else {}
    qualifying = mrr.get(account_id, 0) if by_mrr else points
    return {"tier_basis": program.tier_basis, "qualifying_points": points,
            "qualifying_mrr": qualifying if by_mrr else None,
            "qualifying": qualifying}  # fmt: skip


def account_summary(
    session: Session, program: Program, account: Account, money: Money | None = None
) -> dict[str, Any]:
    """Return the account's loyalty summary, with its contacts' wallets."""
    wallet = session.get(LoyaltyWallet, account.id)
    arm = session.scalar(
        sa.select(LoyaltyEnrolment.arm).where(LoyaltyEnrolment.account_id == account.id)
    )
    progress = tier_progress(session, program, account.id, money)
    qualifying = progress.pop("qualifying")
    tier = (wallet.tier if wallet is not None else None) or program.tier_for(qualifying).key
    upper = program.next_tier(tier)
    gap = max(program.level(upper) - qualifying, 0) if upper else None
    by_mrr = program.tier_basis == "mrr"
    badges = session.scalars(
        sa.select(LoyaltyBadgeAward.badge)
        .where(LoyaltyBadgeAward.account_id == account.id)
        .order_by(LoyaltyBadgeAward.awarded_at, LoyaltyBadgeAward.badge)
    )
    return {
        "account_id": account.id,
        "external_id": account.external_id,
        "arm": arm,
        "balance": wallet.balance if wallet is not None else 0,
        "tier": tier,
        **progress,
        "next_tier": upper.key if upper is not None else None,
        "points_to_next_tier": None if by_mrr else gap,
        "mrr_to_next_tier": gap if by_mrr else None,
        "tier_review_on": wallet.tier_review_on.isoformat()
        if wallet is not None and wallet.tier_review_on
        else None,
        "badges": list(badges),
        "expiring": _expiring(session, account.id),
        "streak": streak_of(session, account.id),
        "challenges": active_challenges(session, program, account.id),
        "contacts": contact_balances(session, account.id),
    }


def streak_of(session: Session, account_id: int) -> dict[str, Any]:
    """Return the account's current and longest streak of active weeks (zeros before any)."""
    row = session.get(LoyaltyStreak, account_id)
    return {
        "current_weeks": row.current_weeks if row else 0,
        "longest_weeks": row.longest_weeks if row else 0,
        "last_active_week": row.last_active_week.isoformat()
        if row and row.last_active_week
        else None,
        "as_of": row.as_of.isoformat() if row else None,
    }


def active_challenges(session: Session, program: Program, account_id: int) -> list[dict]:
    """Return the challenges running today with the account's progress in each."""
    today = clock.now().date()
    running = [c for c in program.challenges if c.starts_on <= today <= c.ends_on]
    progress = LoyaltyChallengeProgress
    rows = {
        row.challenge: row
        for row in session.scalars(sa.select(progress).where(progress.account_id == account_id))
    }
    return [
        {"key": c.key, "name": c.name, "starts_on": c.starts_on.isoformat(),
         "ends_on": c.ends_on.isoformat(), "goal": c.count, "points": c.points,
         "progress": rows[c.key].progress if c.key in rows else 0,
         "completed": c.key in rows and rows[c.key].completed_at is not None}
        for c in running
    ]  # fmt: skip


def ledger_lines(
    session: Session, account_id: int, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Return the account's movements, newest first."""
    query = (
        sa.select(LoyaltyMovement)
        .where(LoyaltyMovement.account_id == account_id)
        .order_by(LoyaltyMovement.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        {
            "id": m.id,
            "kind": m.kind,
            "points": m.points,
            "rule": m.rule,
            "reason": m.reason,
            "occurred_at": m.occurred_at.isoformat(),
            "posted_at": m.posted_at.isoformat(),
            "written_off": m.written_off,
        }
        for m in session.scalars(query)
    ]
