"""App-DB models of the metrics inputs that are not account data: marketing spend."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


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
