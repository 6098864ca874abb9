"""The book's latest scores: the newest scored day, tiers present, tier counts, per-account latest."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.schemas import TierCounts
from tenure.churn.models import ChurnScore
from tenure.health.models import HealthScore


def latest_day(db_session: Session, model: type[HealthScore] | type[ChurnScore]) -> date | None:
    """Return the newest as_of day of a score table, or None when it is empty."""
    return db_session.scalar(sa.select(sa.func.max(model.as_of)))


def tiers(*, db_session: Session) -> list[str]:
    """Return the health tiers present in the latest scores."""
    day = latest_day(db_session, HealthScore)
    query = sa.select(HealthScore.tier).where(HealthScore.as_of == day).distinct()
    return sorted(db_session.scalars(query))


def tier_distribution(*, db_session: Session) -> TierCounts:
    """Return the latest day's count of accounts per health tier and per churn-risk tier."""
    health_day, churn_day = latest_day(db_session, HealthScore), latest_day(db_session, ChurnScore)
    health = db_session.execute(
        sa.select(HealthScore.tier, sa.func.count(), sa.func.avg(HealthScore.score))
        .where(HealthScore.as_of == health_day)
        .group_by(HealthScore.tier)
    ).all()
    risk = db_session.execute(
        sa.select(ChurnScore.risk_tier, sa.func.count())
        .where(ChurnScore.as_of == churn_day)
        .group_by(ChurnScore.risk_tier)
    ).all()
    return TierCounts(
        health_day=health_day,
        churn_day=churn_day,
        health={tier: {"accounts": n, "mean": float(mean)} for tier, n, mean in health},
        risk=dict(risk),
    )


def latest_scores(
    *, db_session: Session, account_ids: list[int]
) -> dict[int, tuple[HealthScore | None, ChurnScore | None]]:
    """Return account id -> (latest health score, latest churn score), None where never scored."""
    found: dict[int, dict[type, Any]] = {i: {} for i in account_ids}
    for model in (HealthScore, ChurnScore):
        newest = (
            sa.select(model.account_id, sa.func.max(model.as_of).label("as_of"))
            .where(model.account_id.in_(account_ids))
            .group_by(model.account_id)
            .subquery()
        )
        rows = db_session.scalars(
            sa.select(model).join(
                newest, (model.account_id == newest.c.account_id) & (model.as_of == newest.c.as_of)
            )
        )
        for row in rows:
            found[row.account_id][model] = row
    return {i: (f.get(HealthScore), f.get(ChurnScore)) for i, f in found.items()}
