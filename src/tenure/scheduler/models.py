"""App-DB state of the scheduler: job leases (one holder at a time) and each job's progress."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class JobLease(Base):
    """Who may run a job now: a holder, where it runs, and when its claim lapses unless renewed."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class JobProgress(Base):
    """The last day a scheduled job completed (the scheduler catches up from the day after)."""

    __tablename__ = "job_progress"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_completed: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime]
