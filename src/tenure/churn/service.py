"""`tenure model train`: snapshots → out-of-time training → report → MLflow → champion check."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sqlalchemy import Engine

from tenure import clock
from tenure.churn import drift, leakage, registry, validation
from tenure.churn.labels import check_horizon
from tenure.churn.oracle import bayes_comparison, truth_for
from tenure.churn.snapshots import event_names, labelled_snapshots, open_sources, training_dates
from tenure.churn.training import TrainingResult, time_split, train_models
from tenure.config import Settings
from tenure.warehouse.connection import open_warehouse

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
        "risk_tiers": {
            "high": f"p >= {model.threshold:.2f}",
            "medium": f"p >= {model.medium_cut:.3f}",
        },
        "data_window": window,
    }


def build_card(
    result: TrainingResult, report: dict[str, Any], horizon: int, names: list[str]
) -> dict[str, Any]:
    """Return the JSON model card saved with the model."""
    model = result.model
    fit_rows = result.frames["fit"]
    return {
        "model": "xgboost (hist) in a scikit-learn Pipeline, Platt-calibrated out of time",
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


def train_churn_model(
    settings: Settings, engine: Engine, *, horizon: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Train, validate, log and (when it beats the champion out of time) promote a churn model."""
    horizon = check_horizon(horizon or settings.churn_horizon_days)
    with open_warehouse(settings) as warehouse:
        sources = open_sources(warehouse, engine, settings)
        as_ofs, data_end = training_dates(warehouse.con, settings.snapshot_frequency)
        split = time_split(as_ofs, data_end, horizon)
        names = event_names(warehouse.con, split.validate)
        days = [*split.fit, split.calibrate, split.validate]
        frame = labelled_snapshots(warehouse, sources, days, names, horizon)
        truth = truth_for(warehouse.con, split.validate, horizon)
    # the warehouse lock is released: training never blocks the pipeline's writers
    frame, leaks = leakage.screen_snapshots(frame, [*split.fit, split.calibrate])
    result = train_models(frame, split, seed=seed)
    bayes = bayes_comparison(truth, result.frames["validate"], result.validation_probability)
    window = {
        **split.to_dict(),
        "last_data_day": data_end.isoformat(),
        "frequency": settings.snapshot_frequency,
    }
    window["rows"] = {part: len(rows) for part, rows in result.frames.items()}
    report = build_report(result, bayes, window)
    report.update(leakage.card_fields(leaks))
    card = build_card(result, report, horizon, names)
    name = registry.model_name(horizon)
    champion, champion_auc = champion_auc_on(settings, name, result)
    promote = champion_auc is None or result.metrics["auc"] > champion_auc
    report["champion_comparison"] = {
        "champion_version": champion,
        "champion_auc_on_same_rows": champion_auc,
        "challenger_auc": result.metrics["auc"],
        "promoted": promote,
    }
    params = {
        "trained_at": card["trained_at"],
        "horizon_days": horizon,
        "validate_as_of": split.validate.isoformat(),
        "promoted_on_training": promote,
        "seed": seed,
        **{
            f"xgb_{k}": v
            for k, v in result.model.pipeline[-1].get_params().items()
            if v is not None
            and k
            in (
                "n_estimators",
                "learning_rate",
                "max_depth",
                "subsample",
                "colsample_bytree",
                "min_child_weight",
                "reg_lambda",
                "tree_method",
            )
        },
    }
    metrics = {**result.metrics, **{f"baseline_{k}": v for k, v in result.baseline_metrics.items()}}
    if bayes:
        metrics.update(bayes_optimal_auc=bayes["bayes_optimal_auc"], bayes_ratio=bayes["ratio"])
    version = registry.log_model(
        settings,
        name=name,
        model=result.model,
        params=params,
        metrics=metrics,
        card=card,
        report=report,
    )
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
