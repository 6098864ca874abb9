"""App-DB models of plays: definitions, each account's run of a play (treated or holdout), tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType

PLAY_STATUSES = ("active", "paused")
RUN_ARMS = ("treated", "holdout")
TASK_STATUSES = ("open", "snoozed", "done")


class Play(Base):
    """A retention play loaded from TOML: trigger, eligibility, actions, goal, cost, holdout."""

    __tablename__ = "play"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="active")
    holdout_fraction: Mapped[float] = mapped_column(Float, default=0.1)
    holdout_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PlayRun(Base):
    """One account entering a play on a day, in the treated arm or the holdout."""

    __tablename__ = "play_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    play_id: Mapped[int] = mapped_column(ForeignKey("play.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    arm: Mapped[str] = mapped_column(String(16))
    started_on: Mapped[date] = mapped_column(Date)
    goal_on: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(255))
    mrr_at_start: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # reporting minor units
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, ended
    retained: Mapped[bool | None]
    mrr_at_goal: Mapped[int | None] = mapped_column(BigInteger)
    ended_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("play_id", "account_id", "started_on"),
        Index("ix_play_run_account", "account_id", "status"),
    )


class CsmTask(Base):
    """A to-do for a CSM about an account, usually created by a play."""

    __tablename__ = "csm_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    play_run_id: Mapped[int | None] = mapped_column(ForeignKey("play_run.id", ondelete="SET NULL"))
    owner: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    checklist: Mapped[list[str]] = mapped_column(JSONType, default=list)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_csm_task_owner", "owner", "status", "due_on"),)
