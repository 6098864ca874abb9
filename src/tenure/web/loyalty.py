"""The dashboard's loyalty programme page: members vs holdout, points books, tiers, badges."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.accounts.people import lines_for
from tenure.accounts.schemas import Money, Reader
from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.loyalty.leaderboard import PERSON_FIELDS, account_leaderboard
from tenure.loyalty.models import LoyaltyBadgeAward, LoyaltyEnrolment, LoyaltyWallet
from tenure.loyalty.report import programme_report
from tenure.loyalty.service import current_program
from tenure.loyalty.statements import account_summary, ledger_lines
from tenure.rendering.charts import FALLBACK, ranked_bars
from tenure.web.session import Viewer


def tier_mix(db: Session) -> dict[str, int]:
    """Return member wallets per tier."""
    query = sa.select(LoyaltyWallet.tier, sa.func.count()).group_by(LoyaltyWallet.tier)
    return {tier or "unranked": n for tier, n in db.execute(query)}


def top_badges(db: Session, limit: int = 10) -> list[tuple[str, int]]:
    """Return the most awarded badges with their counts."""
    count = sa.func.count().label("n")
    query = sa.select(LoyaltyBadgeAward.badge, count).group_by(LoyaltyBadgeAward.badge)
    return [(b, n) for b, n in db.execute(query.order_by(count.desc()).limit(limit))]


def programme_context(db: Session, viewer: Viewer) -> dict[str, Any]:
    """Return the programme report, tier mix and badges (empty before a programme is loaded)."""
    if not can(viewer.role, "loyalty:read"):
        raise Forbidden(f"the role {viewer.role!r} may not read the loyalty programme")
    program = current_program(db)
    if program is None:
        return {"program": None}
    mix = tier_mix(db)
    order = [t.key for t in program.tiers if t.key in mix] + [t for t in mix if t == "unranked"]
    chart = ranked_bars(order, [mix[t] for t in order], FALLBACK[0],
                        hover="%{y}: %{x:,} members<extra></extra>") if mix else None  # fmt: skip
    return {
        "program": program,
        "report": programme_report(db, program),
        "tiers": [(t, mix[t]) for t in order],
        "tier_chart": chart,
        "badges": top_badges(db),
    }


RECENT_LEDGER = 6


def account_panel(
    db: Session, reader: Reader, account_id: int, money: Money | None = None
) -> dict[str, Any] | None:
    """Return the account 360's loyalty panel (None: no programme, or the role may not read it).

    The leaderboard's and contact wallets' people and the ledger's reasons are masked for a
    reader who may not see the account's people.
    """
    program = current_program(db) if can(reader.role, "loyalty:read") else None
    account = db.get(Account, account_id) if program is not None else None
    if program is None or account is None:
        return None
    arm = db.scalar(
        sa.select(LoyaltyEnrolment.arm).where(LoyaltyEnrolment.account_id == account_id)
    )
    if arm != "member":
        return {"arm": arm}
    summary = account_summary(db, program, account, money)
    tiers = {t.key: t for t in program.tiers}
    upper = tiers.get(summary["next_tier"] or "")
    by_mrr = program.tier_basis == "mrr"
    qualifying = summary["qualifying_mrr"] if by_mrr else summary["qualifying_points"]
    names = {b.key: b.name for b in program.badges}
    return {
        **summary,
        "tier_name": tiers[summary["tier"]].name if summary["tier"] in tiers else summary["tier"],
        "next_tier_name": upper.name if upper else None,
        "tier_progress": min((qualifying or 0) / program.level(upper), 1.0)
        if upper and program.level(upper)
        else 1.0,
        "to_next_tier": summary["mrr_to_next_tier"] if by_mrr else summary["points_to_next_tier"],
        "contacts": _shown(db, reader, account, summary["contacts"], PERSON_FIELDS),
        "badge_names": [names.get(b, b) for b in summary["badges"]],
        "expiring_total": sum(e["points"] for e in summary["expiring"]),
        "recent": _shown(db, reader, account, ledger_lines(db, account_id, RECENT_LEDGER),
                         ("reason",)),
        "leaderboard": _shown(db, reader, account, account_leaderboard(db, program, account_id),
                              PERSON_FIELDS),
    }  # fmt: skip


def _shown(
    db: Session, reader: Reader, account: Account, lines: list[dict[str, Any]], fields: tuple
) -> list[dict[str, Any]]:
    """Return an account's lines with people masked unless the reader may see them."""
    return lines_for(db, reader, [(line, account.id, account.owner) for line in lines], fields)
