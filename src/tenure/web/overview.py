"""Business-wide figures for the dashboard: monthly metrics, cohorts, segments, data quality.

Stored (materialised) metrics are preferred; when the pipeline has not stored them yet, they
are computed on demand from the app DB's subscriptions (fast for a demo-sized book).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.schemas import Money
from tenure.config import Settings
from tenure.errors import LockHeld, NotFound, TenureError
from tenure.metrics import serving
from tenure.metrics.months import last_complete_month
from tenure.quality.flows import build_quality_report
from tenure.segments.service import list_segments, segment_reports
from tenure.warehouse.stages.subscriptions import app_db_subscriptions

HISTORY_MONTHS = 12


def monthly_figures(*, db_session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Return up to the last 12 complete months' summaries, oldest first (stored or computed)."""
    return serving.recent_months(db_session, settings, HISTORY_MONTHS)


def kpis(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the headline numbers of the last month and their change vs the month before."""
    if not months:
        return {}
    last, previous = months[-1], months[-2] if len(months) > 1 else None
    keys = ("mrr_end", "customers_end", "nrr", "grr", "logo_churn_rate", "arpa")
    out: dict[str, Any] = {"month": last["month"], "currency": last.get("currency", "")}
    for key in keys:
        value = last.get(key)
        before = previous.get(key) if previous else None
        delta = None if value is None or before is None else value - before
        out[key] = {"value": value, "delta": delta}
    return out


def cohort_matrix(*, db_session: Session, settings: Settings) -> dict[str, Any]:
    """Return the signup-cohort matrices (stored by the pipeline, else computed now)."""
    try:
        return serving.stored_snapshot(db_session, "cohorts")
    except NotFound:
        pass
    subscriptions = app_db_subscriptions(db_session.get_bind())
    if subscriptions.num_rows == 0:
        return {"cohorts": [], "months_since": []}
    report = serving.cohort_report(settings, subscriptions, last_complete_month())
    return {"as_of": clock.now().date().isoformat(), **report}


def segments(*, db_session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Return every segment's accounts, MRR, logo churn and NRR over the trailing month."""
    if not list_segments(db_session=db_session):
        return []
    return segment_reports(
        db_session=db_session, as_of=clock.now().date(), money=Money.from_settings(settings)
    )


def data_quality(*, engine: Engine, settings: Settings) -> dict[str, Any]:
    """Return the data-quality report as a dict, or {"error": why} when it cannot be built."""
    if not settings.warehouse_path.exists():
        return {"error": "no warehouse yet: run `tenure init` and import some data"}
    try:
        return build_quality_report(engine=engine, settings=settings).to_dict()
    except LockHeld:
        return {"error": "the warehouse is being written by the pipeline; try again shortly"}
    except TenureError as exc:
        return {"error": str(exc)}
