"""App-DB model of the report schedules: who gets which report, how often, what was last sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType


class ReportSchedule(Base):
    """One scheduled report: its recipients, cadence and the last period sent."""

    __tablename__ = "report_schedule"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # weekly, board
    cadence: Mapped[str] = mapped_column(String(16))  # weekly, monthly
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # 0 = Monday (weekly)
    day: Mapped[int] = mapped_column(Integer, default=1)  # day of the month (monthly)
    hour: Mapped[int] = mapped_column(Integer, default=7)  # UTC
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_period: Mapped[str | None] = mapped_column(String(16))  # 2026-W49, 2026-11
    last_sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
