"""App-DB models of metrics inputs (marketing spend) and of materialised metrics for serving."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType


class MarketingSpend(Base):
    """Acquisition spend of one month (on one channel), for CAC and its payback period."""

    __tablename__ = "marketing_spend"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    month: Mapped[datetime]  # first instant (UTC) of the month the money was spent in
    channel: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))

    __table_args__ = (Index("ix_marketing_spend_month", "month"),)


class MetricsMonth(Base):
    """A month's materialised summary (movements, rates, LTV, NPS, CAC) for serving."""

    __tablename__ = "metrics_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    currency: Mapped[str] = mapped_column(String(3))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType)  # as `tenure metrics summary --json`
    as_of: Mapped[date] = mapped_column(Date)  # the pipeline day that computed it
    computed_at: Mapped[datetime]


class MetricsSnapshot(Base):
    """A named analytic report (e.g. signup cohorts) as of a pipeline day, for serving."""

    __tablename__ = "metrics_snapshot"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed_at: Mapped[datetime]
