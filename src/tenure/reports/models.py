"""App-DB models of the risk register: one row per risk (opened, closed, reopened) and history."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType

RISK_KINDS = ("account", "programme")
RISK_STATUSES = ("open", "closed")


class Risk(Base):
    """A risk the pipeline found: an account likely to churn, or a problem in Tenure's own state."""

    __tablename__ = "risk"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)  # e.g. account:42, source:events
    kind: Mapped[str] = mapped_column(String(16))  # account, programme
    category: Mapped[str] = mapped_column(String(32))  # churn, data_source, model_drift...
    title: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    likelihood: Mapped[float | None] = mapped_column(Float)
    impact: Mapped[float | None] = mapped_column(Float)  # reporting major units
    exposure: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str] = mapped_column(String(255))
    mitigation: Mapped[str] = mapped_column(Text)
    recommended_play: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_risk_status", "status", "kind"),)


class RiskHistory(Base):
    """A change of a risk on a pipeline day: opened, updated, closed or reopened."""

    __tablename__ = "risk_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    change: Mapped[str] = mapped_column(String(16))
    exposure: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_risk_history_risk", "risk_id", "day"),)
