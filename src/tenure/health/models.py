"""App-DB models of account health: the daily score history (the serving table)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType


class HealthScore(Base):
    """One account's health (0–100) and tier as of a day, with its measures and the reason."""

    __tablename__ = "health_score"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    scorecard: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(32))
    # {"measure name": {"value": float|None, "score": float|None, "weight": float,
    #                   "points": float (contribution to score), "missing": bool}, ...}
    measures: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reason: Mapped[str | None] = mapped_column(String(255))  # the measure that moved it most
    change_7d: Mapped[float | None] = mapped_column(Float)
    change_30d: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("account_id", "as_of", name="uq_health_score_account_as_of"),
        Index("ix_health_score_as_of", "as_of"),
    )


class Scorecard(Base):
    """A stored scorecard: weighted measures, tiers and the rule choosing its accounts."""

    __tablename__ = "scorecard"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    # The validated definition (tenure.health.scorecards.ScorecardDefinition as JSON).
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime]


class UsageDaily(Base):
    """Per-account, per-day counters of events recorded through the inbox (real-time path)."""

    __tablename__ = "usage_daily"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    logins: Mapped[int] = mapped_column(Integer, default=0)
    last_event_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class UsageDailyFeature(Base):
    """That an account used a feature (event name) on a day (real-time path)."""

    __tablename__ = "usage_daily_feature"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    feature: Mapped[str] = mapped_column(String(128), primary_key=True)


class UsageDailyUser(Base):
    """That a user (contact external id) of an account was active on a day (real-time path)."""

    __tablename__ = "usage_daily_user"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user: Mapped[str] = mapped_column(String(128), primary_key=True)


class UsageBase(Base):
    """Warehouse usage of an account up to base_day, the baseline the real-time path adds to.

    `events_recent`, `features` and `users` cover the 29 days ending base_day (so that adding the
    next day gives a 30-day window); `events_previous` covers the 30 days before those.
    """

    __tablename__ = "usage_base"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    base_day: Mapped[date] = mapped_column(Date)
    events_recent: Mapped[int] = mapped_column(Integer, default=0)
    events_previous: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None]
    features: Mapped[str] = mapped_column(Text, default="[]")  # JSON array text
    users: Mapped[str] = mapped_column(Text, default="[]")  # JSON array text


class HealthReference(Base):
    """Quantiles of a measure's value in the population as of a day (percentile scoring)."""

    __tablename__ = "health_reference"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantiles: Mapped[list[float]] = mapped_column(JSONType, default=list)


class HealthRefreshQueue(Base):
    """An account whose score for today waits for a real-time refresh (written with its events).

    The refresher deletes the row in the transaction that stores the refreshed score, so a crash
    in between leaves it here for the next start-up to pick up.
    """

    __tablename__ = "health_refresh_queue"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime]  # the latest change; a refresh that read an older one keeps it
