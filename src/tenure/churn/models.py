"""App-DB serving table of daily churn scores (written by the scoring stage, read by API/health)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from tenure.churn.reasons import describe
from tenure.db.base import Base, JSONType

RISK_TIERS = ("low", "medium", "high")


class ReasonsJSON(TypeDecorator):
    """The reasons JSON column: read back as dicts that carry their plain-language "text".

    Bulk scoring stores compact [feature, value, contribution] triples; the text follows from
    the feature and its value, so it is written on read (`describe`), for the rows someone reads.
    """

    impl = JSONType
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return describe(value) if value else value


class ChurnScore(Base):
    """One account's churn probability as of a day, with the model version and top reasons."""

    __tablename__ = "churn_score"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    horizon_days: Mapped[int] = mapped_column(Integer, default=90)
    model_version: Mapped[str] = mapped_column(String(64))
    probability: Mapped[float] = mapped_column(Float)
    risk_tier: Mapped[str] = mapped_column(String(16))  # one of RISK_TIERS
    # Stored [[feature, value, contribution], ...], strongest first (a positive contribution
    # raises the churn risk); read back as [{"feature", "value", "contribution", "text"}, ...].
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(ReasonsJSON, default=list)
    scored_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("account_id", "as_of", name="uq_churn_score_account_as_of"),
        Index("ix_churn_score_as_of", "as_of"),
    )
