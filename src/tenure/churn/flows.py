"""`tenure model train`: snapshots → out-of-time training → report → MLflow → champion check.

A model is promoted only when it shows skill (its out-of-time AUC's bootstrap 95 % interval
excludes 0.5 and its predictions are not constant) and, when a champion exists, beats the
champion's AUC on the same validation rows. The first model is no exception.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sqlalchemy import Engine

from tenure import clock
from tenure.churn import drift, leakage, registry, validation
from tenure.churn.fitted_model import tier_rule
from tenure.churn.labels import check_horizon
from tenure.churn.oracle import bayes_comparison, truth_for
from tenure.churn.snapshots import event_names, labelled_snapshots, open_sources, training_dates
from tenure.churn.training import TimeSplit, TrainingResult, time_split, train_models
from tenure.config import Settings
from tenure.logging import get_logger
from tenure.warehouse.connection import open_warehouse

log = get_logger("churn.service")

LIBRARIES = ("xgboost-cpu", "scikit-learn", "ibis-framework", "duckdb", "mlflow-skinny", "pandas")


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries a model depends on."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = package_version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def importance(result: TrainingResult) -> list[dict[str, float]]:
    """Return mean |SHAP| per feature on the validation day (calibrated log-odds), largest first."""
    contributions, _ = result.model.contributions(result.frames["validate"])
    mean_abs = (contributions.abs() * abs(result.model.slope)).mean()
    return [
        {"feature": name, "mean_abs_contribution": float(value)}
        for name, value in mean_abs.sort_values(ascending=False).items()
    ]


def build_report(
    result: TrainingResult, bayes: dict[str, Any] | None, window: dict[str, Any]
) -> dict[str, Any]:
    """Return the model report: metrics, curves, importance, calibration and data window."""
    rows = result.frames["validate"]
    y, p = rows["churned"].to_numpy(), result.validation_probability
    model = result.model
    return {
        "metrics": result.metrics,
        "baseline_logistic_metrics": result.baseline_metrics,
        "bayes_optimal": bayes,
        "reliability_curve": validation.reliability_curve(y, p),
        "gains": validation.gains_curve(y, p),
        "importance": importance(result),
        "calibration": {
            "method": "platt on the model margin",
            "slope": model.slope,
            "intercept": model.intercept,
            "fitted_on": result.split.calibrate.isoformat(),
        },
        "threshold": {"value": model.threshold, "chosen_by": "max F1 on the calibration day"},
        "risk_tiers": tier_rule(model.base_rate if model.base_rate is not None else 0.0),
        "data_window": window,
        "served_model": model.name,
        "selection": result.selection(),
        "xgboost_metrics": result.xgboost_metrics,
        "capacity": result.capacity.to_dict() if result.capacity else None,
        "skill": result.skill.skill if result.skill else None,
        "skill_check": result.skill.to_dict() if result.skill else None,
    }


MODEL_DESCRIPTIONS = {
    "xgboost": "xgboost (hist) in a scikit-learn Pipeline, Platt-calibrated out of time",
    "logistic": "spline (GAM-style) logistic regression in a scikit-learn Pipeline, "
    "Platt-calibrated out of time",
}


def build_card(
    result: TrainingResult, report: dict[str, Any], horizon: int, names: list[str]
) -> dict[str, Any]:
    """Return the JSON model card saved with the model."""
    model = result.model
    fit_rows = result.frames["fit"]
    return {
        "model": MODEL_DESCRIPTIONS[model.name],
        "served_model": model.name,
        "trained_at": clock.now().isoformat(timespec="seconds"),
        "horizon_days": horizon,
        "data_window": report["data_window"],
        "features": {
            "numeric": model.numeric,
            "categorical": model.categorical,
            "event_names": names,
        },
        "metrics": result.metrics,
        "baseline_logistic_metrics": result.baseline_metrics,
        "bayes_optimal": report["bayes_optimal"],
        "calibration": report["calibration"],
        "threshold": report["threshold"],
        "risk_tiers": report["risk_tiers"],
        "leaks": report.get("leaks", []),
        "leak_warnings": report.get("leak_warnings", []),
        "selection": report["selection"],
        "capacity": report["capacity"],
        "skill": report["skill"],
        "skill_check": report["skill_check"],
        "drift_reference": drift.build_references(fit_rows, model.numeric, model.categorical),
        "score_reference": drift.numeric_reference(pd.Series(result.validation_probability)),
        "drift_weights": drift.importance_weights(report["importance"]),
        "libraries": library_versions(),
    }


def champion_auc_on(
    settings: Settings, name: str, result: TrainingResult
) -> tuple[str | None, float | None]:
    """Return the champion's version and its AUC on the challenger's validation rows."""
    version = registry.champion_version(settings, name)
    if version is None:
        return None, None
    champion = registry.load_version(settings, name, version)
    rows = result.frames["validate"]
    p = champion.model.predict_proba(rows)
    return version, float(roc_auc_score(rows["churned"].to_numpy(), p))


@dataclass
class TrainingData:
    """The labelled snapshots of one training run, read from the warehouse."""

    frame: pd.DataFrame
    split: TimeSplit
    horizon: int
    names: list[str]
    truth: pd.DataFrame | None
    window: dict[str, Any]


def training_data(
    settings: Settings, engine: Engine, *, horizon: int | None = None
) -> TrainingData:
    """Return the labelled fit, calibration and validation snapshots of the warehouse."""
    horizon = check_horizon(horizon or settings.churn_horizon_days)
    with open_warehouse(settings) as warehouse:
        sources = open_sources(warehouse, engine, settings)
        as_ofs, data_end = training_dates(warehouse.con, settings.snapshot_frequency)
        split = time_split(as_ofs, data_end, horizon)
        names = event_names(warehouse.con, split.validate)
        days = [*split.fit, split.calibrate, split.validate]
        frame = labelled_snapshots(warehouse, sources, days, names, horizon)
        truth = truth_for(warehouse.con, split.validate, horizon)
    window = {
        **split.to_dict(),
        "last_data_day": data_end.isoformat(),
        "frequency": settings.snapshot_frequency,
        "churn_definition": settings.churn_definition,
        "inactivity_days": settings.inactivity_days,
    }
    return TrainingData(frame, split, horizon, names, truth, window)


def train_churn_model(
    settings: Settings, engine: Engine, *, horizon: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Train, validate, log and (when it shows skill and beats the champion) promote a model."""
    data = training_data(settings, engine, horizon=horizon)
    # the warehouse lock is released: training never blocks the pipeline's writers
    return train_and_register(settings, data, seed=seed)


def promotion(settings: Settings, name: str, result: TrainingResult) -> dict[str, Any]:
    """Return the champion comparison: promote only a model with skill that beats the champion."""
    champion, champion_auc = champion_auc_on(settings, name, result)
    skill = bool(result.skill and result.skill.skill)
    beats = champion_auc is None or result.metrics["auc"] > champion_auc
    if not skill:
        reason = result.skill.verdict if result.skill else "no skill check"
    elif not beats:
        reason = "the champion is better on the same validation rows"
    else:
        reason = "shows skill" + ("" if champion is None else " and beats the champion")
    return {
        "champion_version": champion,
        "champion_auc_on_same_rows": champion_auc,
        "challenger_auc": result.metrics["auc"],
        "promoted": skill and beats,
        "reason": reason,
    }


def run_params(result: TrainingResult, card: dict[str, Any], seed: int) -> dict[str, Any]:
    """Return the MLflow parameters of a run: window, promotion, seed and the chosen capacity."""
    params = {
        "trained_at": card["trained_at"],
        "horizon_days": card["horizon_days"],
        "validate_as_of": result.split.validate.isoformat(),
        "seed": seed,
        "served_model": result.model.name,
    }
    if result.capacity is not None:
        params["xgb_setting"] = result.capacity.setting
        params.update({f"xgb_{k}": v for k, v in result.capacity.params.items()})
    return params


def train_and_register(settings: Settings, data: TrainingData, *, seed: int = 0) -> dict[str, Any]:
    """Train on the snapshots, log the run and promote the model when it may serve."""
    frame, leaks = leakage.screen_snapshots(data.frame, [*data.split.fit, data.split.calibrate])
    result = train_models(frame, data.split, seed=seed)
    bayes = bayes_comparison(data.truth, result.frames["validate"], result.validation_probability)
    window = {**data.window, "rows": {part: len(rows) for part, rows in result.frames.items()}}
    report = build_report(result, bayes, window)
    report.update(leakage.card_fields(leaks))
    card = build_card(result, report, data.horizon, data.names)
    name = registry.model_name(data.horizon)
    report["champion_comparison"] = promotion(settings, name, result)
    promote = report["champion_comparison"]["promoted"]
    if not promote:
        log.warning("churn_model_not_promoted", reason=report["champion_comparison"]["reason"])
    params = {**run_params(result, card, seed), "promoted_on_training": promote}
    metrics = {**result.metrics, **{f"baseline_{k}": v for k, v in result.baseline_metrics.items()}}
    if bayes:
        metrics.update(bayes_optimal_auc=bayes["bayes_optimal_auc"], bayes_ratio=bayes["ratio"])
    version = registry.log_model(
        settings, name=name, model=result.model, params=params, metrics=metrics, card=card,
        report=report,
    )  # fmt: skip
    if promote:
        registry.promote(settings, name, version)
    return {"model": name, "version": version, "promoted": promote, **report}


def finite(value: Any) -> Any:
    """Return value with NaN/inf floats replaced by None (recursively), for strict JSON."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
