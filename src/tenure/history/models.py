"""App-DB weekly roll-up of daily scores older than the kept window (for the history charts)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class ScoreWeek(Base):
    """One account's week (Monday to Sunday): mean health and churn probability, last tiers."""

    __tablename__ = "score_week"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    week: Mapped[date] = mapped_column(Date, primary_key=True)  # the Monday
    health_days: Mapped[int] = mapped_column(Integer, default=0)
    health_score: Mapped[float | None] = mapped_column(Float)
    health_tier: Mapped[str | None] = mapped_column(String(32))
    churn_days: Mapped[int] = mapped_column(Integer, default=0)
    churn_probability: Mapped[float | None] = mapped_column(Float)
    risk_tier: Mapped[str | None] = mapped_column(String(16))
