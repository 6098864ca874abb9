"""App-DB models of account health: the daily score history (the serving table)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class HealthScore(Base):
    """One account's health (0–100) and tier as of a day, with its measures and the reason."""

    __tablename__ = "health_score"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    scorecard: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(32))
    # {"measure name": {"value": float|None, "score": float|None, "weight": float}, ...}
    measures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(String(255))  # the measure that moved it most
    change_7d: Mapped[float | None] = mapped_column(Float)
    change_30d: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("account_id", "as_of", name="uq_health_score_account_as_of"),
        Index("ix_health_score_as_of", "as_of"),
    )
