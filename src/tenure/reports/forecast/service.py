"""The book's current forecast, stored as a metrics snapshot so pages and reports reuse it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.config import Settings
from tenure.errors import NotFound
from tenure.metrics.months import last_complete_month, month_text
from tenure.metrics.serving import store_snapshot, stored_snapshot

SNAPSHOT = "forecast"


def stored_forecast(db_session: Session, months: int) -> dict[str, Any] | None:
    """Return the stored forecast when it starts after the last complete month, else None."""
    try:
        report = stored_snapshot(db_session, SNAPSHOT)
    except NotFound:
        return None
    current = report.get("last_month") == month_text(last_complete_month())
    return report if current and report.get("months", 0) >= months else None


def current_forecast(
    *, db_session: Session, settings: Settings, months: int = 12, refresh: bool = False
) -> dict[str, Any]:
    """Return the forecast after the last complete month (stored, else computed and stored)."""
    from tenure.reports.forecast.book import book_history
    from tenure.reports.forecast.report import forecast_report

    report = None if refresh else stored_forecast(db_session, months)
    if report is None:
        history = book_history(db_session.get_bind(), settings)
        report = forecast_report(history, months, settings.reporting_currency)
        as_of = date.fromisoformat(report["last_month"] + "-01")
        store_snapshot(db_session, SNAPSHOT, report, as_of=as_of)
    return report
