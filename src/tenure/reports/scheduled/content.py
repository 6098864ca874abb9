"""What a scheduled report says: the figures of each section, read from the served tables.

Each section reads what the dashboard reads (served months, latest scores, the stored forecast,
plays' measured effects). ROI, the risk register and the scorecard come from their own modules
when they are installed (imported on use); a section whose source is missing says so.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts import scores
from tenure.accounts import service as accounts
from tenure.accounts.schemas import Money
from tenure.config import Settings
from tenure.errors import InputError
from tenure.metrics.serving import recent_months
from tenure.plays.effect import play_effects
from tenure.reports.forecast.service import current_forecast

KPI_KEYS = ("mrr_end", "customers_end", "nrr", "grr", "logo_churn_rate", "arpa")
FORECAST_HORIZONS = (3, 6, 12)


@dataclass(frozen=True)
class ReportSpec:
    """One scheduled report: its title, default cadence, months shown and sections in order."""

    name: str
    title: str
    cadence: str
    months: int
    risks: int
    sections: tuple[str, ...]


REPORTS = {
    "weekly": ReportSpec(
        "weekly", "Weekly executive report", "weekly", 6, 10,
        ("kpis", "movements", "forecast", "health", "risks", "plays", "roi"),
    ),
    "board": ReportSpec(
        "board", "Monthly board pack", "monthly", 12, 15,
        ("kpis", "movements", "retention", "forecast", "health", "risks", "plays", "roi",
         "scorecard"),
    ),
}  # fmt: skip


def kpis(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the last month's headline figures with their change vs the month before."""
    if not months:
        return {}
    last, previous = months[-1], months[-2] if len(months) > 1 else {}
    out: dict[str, Any] = {"month": last["month"]}
    for key in KPI_KEYS:
        value, before = last.get(key), previous.get(key)
        delta = None if value is None or before is None else value - before
        out[key] = {"value": value, "delta": delta}
    return out


def forecast_section(db_session: Session, settings: Settings) -> dict[str, Any]:
    """Return the stored (or fresh) forecast, or why there is none."""
    try:
        report = current_forecast(db_session=db_session, settings=settings)
    except InputError as exc:
        return {"available": False, "reason": str(exc)}
    rows = [r for r in report["forecast"] if r["horizon"] in FORECAST_HORIZONS]
    return {"available": True, "report": report, "rows": rows}


def optional(module: str) -> Any | None:
    """Return a report module when it is installed (ROI, risks, scorecard), else None."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def risks_section(db_session: Session, money: Money, today: date, limit: int) -> dict[str, Any]:
    """Return the risk register's top account and programme risks, else MRR at risk."""
    register = optional("tenure.reports.risks")
    if register is not None:
        return {
            "source": "register",
            "accounts": register.open_risks(db_session, kind="account", limit=limit),
            "programme": register.open_risks(db_session, kind="programme", limit=limit),
        }
    rows = accounts.at_risk_accounts(db_session=db_session, money=money, day=today, limit=limit)
    return {"source": "scores", "accounts": rows, "programme": []}


def roi_section(db_session: Session, settings: Settings, today: date) -> dict[str, Any]:
    """Return the ROI lines measured against holdouts, or that ROI is not available."""
    module = optional("tenure.reports.roi")
    if module is None:
        return {"available": False, "reason": "the ROI report is not installed"}
    lines = [line.as_dict() for line in module.roi_lines(db_session, settings, today)]
    return {"available": True, "lines": lines}


def scorecard_section(db_session: Session, settings: Settings, today: date) -> dict[str, Any]:
    """Return the graded success scorecard, or that it is not available."""
    module = optional("tenure.reports.scorecard")
    if module is None:
        return {"available": False, "reason": "the success scorecard is not installed"}
    return {"available": True, "rows": module.scorecard_dicts(db_session, settings, today)}


def report_content(
    *, db_session: Session, settings: Settings, spec: ReportSpec, today: date
) -> dict[str, Any]:
    """Return every figure the report's sections show (no charts: rendering draws them)."""
    money = Money.from_settings(settings)
    months = recent_months(db_session, settings, spec.months)
    tiers = scores.tier_distribution(db_session=db_session)
    wanted = set(spec.sections)
    return {
        "spec": spec,
        "today": today,
        "currency": settings.reporting_currency,
        "months": months,
        "kpis": kpis(months),
        "forecast": forecast_section(db_session, settings) if "forecast" in wanted else None,
        "tiers": tiers,
        "risks": risks_section(db_session, money, today, spec.risks),
        "plays": [effect.as_dict() for effect in play_effects(db_session, money)],
        "roi": roi_section(db_session, settings, today) if "roi" in wanted else None,
        "scorecard": scorecard_section(db_session, settings, today)
        if "scorecard" in wanted
        else None,
    }
