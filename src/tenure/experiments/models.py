"""App-DB models of experiments, their sticky assignments, first exposures and metric summaries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType

EXPERIMENT_STATUSES = ("draft", "running", "stopped")
UNITS = ("account", "contact")


class Experiment(Base):
    """A randomized comparison of variants on accounts (or contacts), with its design."""

    __tablename__ = "experiment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    hypothesis: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    unit: Mapped[str] = mapped_column(String(16), default="account")
    salt: Mapped[str] = mapped_column(String(64))
    layer: Mapped[str | None] = mapped_column(String(64))
    layer_start: Mapped[float] = mapped_column(Float, default=0.0)
    layer_end: Mapped[float] = mapped_column(Float, default=1.0)
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    control: Mapped[str] = mapped_column(String(64))
    targeting: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    metrics: Mapped[list[str]] = mapped_column(JSONType, default=list)
    guardrails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    target_units: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]


class ExperimentAssignment(Base):
    """A unit's variant, recorded once: later re-weighting never moves it."""

    __tablename__ = "experiment_assignment"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiment.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime]


class ExperimentExposure(Base):
    """When a unit first saw its variant; the first write wins, analysis counts from it."""

    __tablename__ = "experiment_exposure"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiment.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64))
    first_exposed_at: Mapped[datetime]


class ExperimentMetricSummary(Base):
    """Serving copy of one metric's sufficient statistics in one variant as of a day."""

    __tablename__ = "experiment_metric_summary"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiment.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(128), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    lower_is_better: Mapped[bool] = mapped_column(Boolean, default=False)
    n: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    sum_squares: Mapped[float] = mapped_column(Float)
    pre_sum: Mapped[float | None] = mapped_column(Float)
    pre_sum_squares: Mapped[float | None] = mapped_column(Float)
    pre_cross_sum: Mapped[float | None] = mapped_column(Float)
    denominator_sum: Mapped[float | None] = mapped_column(Float)
    denominator_sum_squares: Mapped[float | None] = mapped_column(Float)
    denominator_cross_sum: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime]
