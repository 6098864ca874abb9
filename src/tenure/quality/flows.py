"""Build the data-quality report: measure the app DB and the warehouse, then score."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from tenure import clock
from tenure.config import Settings
from tenure.metrics.currency import settings_rates
from tenure.quality.currency import unrated_currency_figures
from tenure.quality.drift import model_drift_summary
from tenure.quality.events import event_figures
from tenure.quality.scoring import QualityReport, build_report
from tenure.quality.service import account_ids, app_figures
from tenure.warehouse.connection import open_warehouse


def build_quality_report(
    *, engine: Engine, settings: Settings, now: datetime | None = None
) -> QualityReport:
    """Measure every table and return the scored report as of now (the clock in force)."""
    now = now or clock.now()
    tolerance = timedelta(seconds=settings.future_tolerance_seconds)
    with engine.connect() as connection:
        figures = app_figures(connection, now=now, tolerance=tolerance)
        figures += unrated_currency_figures(connection, rates=settings_rates(settings.fx_rates))
        ids = account_ids(connection)
    with open_warehouse(settings, read_only=True) as warehouse:
        figures += event_figures(warehouse.con, account_ids=ids, now=now, tolerance=tolerance)
    report = build_report(figures, now=now)
    return replace(report, model_drift=model_drift_summary(settings, now=now))
