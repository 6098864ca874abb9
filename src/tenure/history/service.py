"""App-DB reads of one account's score history: the daily window, then weekly before it."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.churn.models import ChurnScore
from tenure.health.models import HealthScore
from tenure.history.models import ScoreWeek


def weekly_points(db_session: Session, account_id: int) -> list[dict[str, Any]]:
    """Return the account's rolled-up weeks, oldest first."""
    rows = db_session.scalars(
        sa.select(ScoreWeek).where(ScoreWeek.account_id == account_id).order_by(ScoreWeek.week)
    ).all()
    return [
        {
            "week": row.week.isoformat(),
            "health_score": row.health_score,
            "health_tier": row.health_tier,
            "health_days": row.health_days,
            "churn_probability": row.churn_probability,
            "risk_tier": row.risk_tier,
            "churn_days": row.churn_days,
        }
        for row in rows
    ]


def daily_points(db_session: Session, account_id: int, since: date | None) -> list[dict[str, Any]]:
    """Return the account's daily health and churn scores from since on, oldest first."""
    points: dict[date, dict[str, Any]] = {}
    health = sa.select(HealthScore.as_of, HealthScore.score, HealthScore.tier).where(
        HealthScore.account_id == account_id, HealthScore.as_of >= (since or date.min)
    )
    for day, score, tier in db_session.execute(health):
        points.setdefault(day, {"as_of": day.isoformat()})
        points[day].update(health_score=score, health_tier=tier)
    churn = sa.select(ChurnScore.as_of, ChurnScore.probability, ChurnScore.risk_tier).where(
        ChurnScore.account_id == account_id, ChurnScore.as_of >= (since or date.min)
    )
    for day, probability, tier in db_session.execute(churn):
        points.setdefault(day, {"as_of": day.isoformat()})
        points[day].update(churn_probability=probability, risk_tier=tier)
    empty = {
        "health_score": None,
        "health_tier": None,
        "churn_probability": None,
        "risk_tier": None,
    }
    return [empty | points[day] for day in sorted(points)]


def score_history(db_session: Session, account_id: int) -> dict[str, Any]:
    """Return the weekly points, then the daily points after the last rolled-up week."""
    weekly = weekly_points(db_session, account_id)
    since = (
        date.fromordinal(date.fromisoformat(weekly[-1]["week"]).toordinal() + 7) if weekly else None
    )
    return {"weekly": weekly, "daily": daily_points(db_session, account_id, since)}
