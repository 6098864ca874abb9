"""The dashboard's /forecast page: MRR, customers and logo churn ahead with calibrated bands."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.errors import InputError
from tenure.reports.forecast.figures import TITLES, forecast_chart
from tenure.reports.forecast.service import current_forecast
from tenure.web.rendering import Dashboard
from tenure.web.session import Viewer

SHOWN_HORIZONS = (1, 3, 6, 12)
METHOD_NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive"}


def backtest_rows(report: dict[str, Any], series: str) -> list[dict[str, Any]]:
    """Return the backtest rows of one series at the horizons the page shows."""
    rows = report["backtest"][series]
    return [r for r in rows if r["horizon"] in SHOWN_HORIZONS and r["n"]] or rows[:1]


def forecast_context(db: Session, viewer: Viewer, ui: Dashboard) -> dict[str, Any]:
    """Return the forecast, its charts and backtest (or why there is none yet)."""
    if not can(viewer.role, "metrics:read"):
        raise Forbidden(f"the role {viewer.role!r} may not read metrics")
    try:
        report = current_forecast(db_session=db, settings=ui.settings)
    except InputError as exc:
        return {"report": None, "reason": str(exc)}
    series = [
        {
            "key": key,
            "title": title,
            "chart": forecast_chart(report, key),
            "backtest": backtest_rows(report, key),
            "calibration": report["backtest"].get("calibration", {}).get(key, {}),
        }
        for key, title in TITLES.items()
    ]
    return {"report": report, "series": series, "method_names": METHOD_NAMES}
