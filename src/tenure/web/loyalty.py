"""The dashboard's loyalty programme page: members vs holdout, points books, tiers, badges."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.loyalty.models import LoyaltyBadgeAward, LoyaltyWallet
from tenure.loyalty.report import programme_report
from tenure.loyalty.service import current_program
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
