"""The churn model page: the champion's out-of-time metrics, reliability, lift, importance, drift.

Read from the churn registry (`tenure.churn.registry`, MLflow in the data dir) and the drift
reports the scoring stage writes (`DATA_DIR/churn/drift-YYYYMMDD.json`). Without a trained
model the page says so; the registry is not touched (nor created) when no store exists.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.churn.drift import drift_for_version
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.errors import NotFound
from tenure.web import charts

METRICS = (
    ("auc", "AUC", 3),
    ("pr_auc", "PR-AUC", 3),
    ("brier", "Brier", 4),
    ("ece", "ECE", 4),
    ("top_decile_lift", "Top-decile lift", 2),
    ("f1", "F1", 3),
    ("accuracy", "Accuracy", 3),
    ("threshold", "Threshold", 2),
)
TOP_FEATURES = 12


def champion(settings: Settings) -> dict[str, Any] | None:
    """Return the champion's name, version, card and report, or None when none is trained."""
    if not (settings.data_dir / "mlflow.db").exists():
        return None
    from tenure.churn import registry

    name = registry.model_name(settings.churn_horizon_days)
    try:
        loaded = registry.load_version(settings, name)
    except NotFound:
        return None
    return {"name": name, "version": loaded.version, "card": loaded.card, "report": loaded.report}


def unpromoted_skill(settings: Settings) -> dict[str, Any] | None:
    """Return the latest version's skill check when it was not promoted for lack of skill."""
    if not (settings.data_dir / "mlflow.db").exists():
        return None
    from tenure.churn import registry

    name = registry.model_name(settings.churn_horizon_days)
    version = registry.latest_version(settings, name)
    if version is None:
        return None
    check = registry.load_version(settings, name, version).report.get("skill_check")
    if not check or check.get("skill"):
        return None
    return {**check, "name": name, "version": version}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def metric_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the served model's and the logistic baseline's metrics side by side."""
    model = report.get("metrics") or {}
    base = report.get("baseline_logistic_metrics") or {}
    return [
        {"label": label, "digits": digits, "model": model.get(key), "baseline": base.get(key)}
        for key, label, digits in METRICS
        if _finite(model.get(key))
    ]


def score_summary(db_session: Session) -> dict[str, Any]:
    """Return how many accounts the latest scoring day covered, their mean and the model."""
    day = db_session.scalar(sa.select(sa.func.max(ChurnScore.as_of)))
    if day is None:
        return {}
    row = db_session.execute(
        sa.select(sa.func.count(), sa.func.avg(ChurnScore.probability), ChurnScore.model_version)
        .where(ChurnScore.as_of == day)
        .group_by(ChurnScore.model_version)
    ).first()
    count, mean, version = row if row else (0, None, None)
    return {"as_of": day, "accounts": count, "mean": mean, "model_version": version}


def _charts(report: dict[str, Any], drift: dict[str, Any] | None) -> dict[str, Any]:
    curve = [
        {"predicted": p["mean_probability"], "observed": p["observed_rate"]}
        for p in report.get("reliability_curve") or []
    ]
    gains = [
        {"decile": round(g["share_contacted"] * 10), "lift": g["lift"]}
        for g in report.get("gains") or []
    ]
    importance = (report.get("importance") or [])[:TOP_FEATURES]
    psi = {
        r["feature"]: r["psi"] for r in (drift or {}).get("features", [])[:15] if _finite(r["psi"])
    }
    return {
        "reliability_chart": charts.reliability(curve) if curve else None,
        "lift_chart": charts.lift(gains) if gains else None,
        "importance_chart": charts.importance(importance) if importance else None,
        "drift_chart": charts.drift(psi) if psi else None,
    }


def model_context(settings: Settings, db_session: Session) -> dict[str, Any]:
    """Return what the model page shows (an empty state when no model is trained yet)."""
    found = champion(settings)
    scores = score_summary(db_session)
    if found is None:
        return {"model": None, "scores": scores, "no_skill": unpromoted_skill(settings)}
    report = found["report"]
    drift = drift_for_version(settings, found["version"])
    return {
        "model": found,
        "card": found["card"],
        "window": report.get("data_window") or {},
        "bayes": report.get("bayes_optimal"),
        "metrics": metric_rows(report),
        "drift": drift,
        "scores": scores,
        "skill": report.get("skill_check"),
        "tiers": report.get("risk_tiers") or {},
        **_charts(report, drift),
    }
