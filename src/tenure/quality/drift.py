"""The churn model's drift as the data-quality report shows it: verdict, worst features, age.

Read from the drift reports the scoring stage writes (`DATA_DIR/churn/drift-YYYYMMDD.json`), not
from the app DB; the summaries themselves are pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from math import isfinite
from typing import Any

from tenure.churn import drift
from tenure.config import Settings

# The churn model's drift sits beside the checks and is never scored: a drifted model says the
# accounts changed since training, not that the data is wrong, so it changes no check score and
# not the overall score. The report flags it instead (JSON `model_drift`, console, HTML).
DRIFT_STALE_AFTER = timedelta(days=7)
WORST_FEATURES = 5


def model_drift_summary(settings: Settings, *, now: datetime) -> dict[str, Any] | None:
    """Return the newest churn drift report summarised for the report; None before any scoring."""
    path = drift.newest_drift_file(settings)
    day = drift.drift_file_day(path) if path else None
    if path is None or day is None:  # no scored day yet
        return None
    try:
        report = drift.read_drift(path)
    except ValueError as exc:
        hint = "re-score with `tenure pipeline run --as-of DAY --only scores`"
        return unreadable_drift(day, f"{exc}; {hint}", today=now.date())
    return drift_summary(report, day=day, today=now.date())


def _psi(value: Any) -> float | None:
    """Return a PSI rounded to 4 decimals, None when missing or not finite."""
    return round(float(value), 4) if isinstance(value, int | float) and isfinite(value) else None


def _text(value: Any) -> str | None:
    """Return value as text, None when missing."""
    return None if value is None else str(value)


def drift_status(report: Mapping[str, Any]) -> str:
    """Return drifted, moderate or stable for a drift report as a whole."""
    if report["drifted"]:
        return "drifted"
    statuses = {report["score_status"], *(row["status"] for row in report["features"])}
    # A drifted feature too minor to flag the model still counts as a moderate shift.
    return "moderate" if statuses & {"moderate", "drifted"} else "stable"


def feature_drift(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return one feature's PSI and status; a feature the scored day lacked is "missing"."""
    psi = _psi(row["psi"])
    status = "missing" if psi is None else str(row["status"])
    return {"feature": str(row["feature"]), "psi": psi, "status": status}


def worst_features(rows: Sequence[Mapping[str, Any]], top: int) -> list[dict[str, Any]]:
    """Return the top features by PSI, worst first, missing ones last."""
    found = [feature_drift(row) for row in rows]
    found.sort(key=lambda row: -row["psi"] if row["psi"] is not None else float("inf"))
    return found[:top]


def staleness(day: date, today: date) -> dict[str, Any]:
    """Return the age of a drift report in days, whether it is stale and a note saying so."""
    age = (today - day).days
    stale = age > DRIFT_STALE_AFTER.days
    note = (
        f"the newest drift report is {age} days old (older than {DRIFT_STALE_AFTER.days}): "
        f"no day scored since {day.isoformat()}"
    )
    return {"age_days": age, "stale": stale, "note": note if stale else None}


def drift_summary(report: Mapping[str, Any], *, day: date, today: date) -> dict[str, Any]:
    """Return the drift fields the quality report shows: score, flag, worst features, staleness."""
    return {
        "as_of": str(report.get("as_of") or day.isoformat()),
        "model": _text(report.get("model")),
        "model_version": _text(report.get("model_version")),
        "status": drift_status(report),
        "drifted": bool(report["drifted"]),
        "drifted_features": [str(name) for name in report["drifted_features"]],
        "drifted_importance_share": _psi(report.get("drifted_importance_share")),
        "score_psi": _psi(report["score_psi"]),
        "score_status": _text(report["score_status"]),
        "tiers_provisional": bool(report.get("tiers_provisional")),
        "worst_features": worst_features(report["features"], WORST_FEATURES),
        **staleness(day, today),
    }


def unreadable_drift(day: date, reason: str, *, today: date) -> dict[str, Any]:
    """Return the drift section of a report that cannot be read: status unknown, with the reason."""
    return {
        "as_of": day.isoformat(),
        "model": None,
        "model_version": None,
        "status": "unreadable",
        "drifted": None,
        "drifted_features": [],
        "drifted_importance_share": None,
        "score_psi": None,
        "score_status": None,
        "tiers_provisional": False,
        "worst_features": [],
        **staleness(day, today),
        "note": reason,
    }
