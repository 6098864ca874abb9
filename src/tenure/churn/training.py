"""Out-of-time training: fit on early as-of days, calibrate on a later one, validate on the last.

Split (no random split across time): the validation day V is the latest as-of whose label
window is complete; the earlier days whose own label windows end by V (as_of + horizon ≤ V)
are training days, so no label of the training data looks past V. Of those, the latest is held
out to fit the calibration and choose the threshold (max F1); the model is fitted on the rest.
The model that is saved is exactly the one these numbers describe (no refit on later data).

Capacity follows the book: each XGBoost setting of `SERVED_XGBOOST_GRID` is fitted on the fit
days and ranked by AUC on the later calibration day (an inner, time-ordered validation that never
sees the validation day); the simplest setting within `CAPACITY_TIE` of the best wins. The chosen
XGBoost and the spline logistic then compete on the validation day: XGBoost serves only when its
AUC beats the logistic's by more than `SIMPLER_TIE`. The served model's skill check (bootstrap
interval of its AUC above 0.5, 95 % over the two candidates compared, so 97.5 % each; predictions
not constant) decides whether it may be promoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from tenure.churn import validation
from tenure.churn.estimators import (
    CAPACITY_TIE,
    SERVED_XGBOOST_GRID,
    logistic_model,
    xgboost_model,
)
from tenure.churn.features import feature_columns
from tenure.churn.fitted_model import ChurnModel, fit_platt, sigmoid
from tenure.errors import InputError

MIN_FIT_POSITIVES = 5
SIMPLER_TIE = 0.005  # XGBoost must beat the logistic by more than this AUC to serve


@dataclass(frozen=True)
class TimeSplit:
    """The as-of days used to fit, calibrate and validate."""

    fit: tuple[date, ...]
    calibrate: date
    validate: date

    def to_dict(self) -> dict[str, Any]:
        """Return the split as ISO dates."""
        return {
            "fit": [d.isoformat() for d in self.fit],
            "calibrate": self.calibrate.isoformat(),
            "validate": self.validate.isoformat(),
        }


def time_split(as_ofs: Sequence[date], data_end: date, horizon: int) -> TimeSplit:
    """Return the out-of-time split, or raise InputError when history is too short."""
    complete = sorted(d for d in as_ofs if d + timedelta(days=horizon) <= data_end)
    if not complete:
        raise InputError(
            f"no as-of day has a complete {horizon}-day label window before {data_end}; "
            "more history is needed"
        )
    validate = complete[-1]
    earlier = [d for d in complete if d + timedelta(days=horizon) <= validate]
    if len(earlier) < 2:
        raise InputError(
            f"out-of-time training needs at least two snapshots whose {horizon}-day labels end by "
            f"the validation day {validate}; found {len(earlier)} (import more history or use "
            "weekly snapshots)"
        )
    return TimeSplit(fit=tuple(earlier[:-1]), calibrate=earlier[-1], validate=validate)


def _rows(frame: pd.DataFrame, days: Sequence[date]) -> pd.DataFrame:
    return frame[frame["as_of"].isin(set(days))].reset_index(drop=True)


def fit_candidate(
    name: str,
    frames: dict[str, pd.DataFrame],
    numeric: list[str],
    categorical: list[str],
    seed: int,
    params: dict[str, float] | None = None,
) -> ChurnModel:
    """Fit one model on the fit rows, then calibrate and set its threshold on the held-out day."""
    model = fit_uncalibrated(name, frames["fit"], numeric, categorical, seed, params)
    return calibrate(model, frames)


def fit_uncalibrated(
    name: str,
    fit: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    params: dict[str, float] | None = None,
) -> ChurnModel:
    """Return one model fitted on the fit rows (XGBoost with params, default the largest grid)."""
    if name == "xgboost":
        chosen = params or SERVED_XGBOOST_GRID["depth2_large_book"]
        pipeline = xgboost_model(numeric, categorical, seed=seed, n_jobs=1, params=chosen)
    else:
        pipeline = logistic_model(numeric, categorical, seed=seed)
    model = ChurnModel(name=name, pipeline=pipeline, numeric=numeric, categorical=categorical)
    pipeline.fit(model.frame(fit), fit["churned"].to_numpy())
    return model


def calibrate(model: ChurnModel, frames: dict[str, pd.DataFrame]) -> ChurnModel:
    """Fit Platt scaling and the F1 threshold on the held-out day; set the tiers' base rate."""
    held = frames["calibrate"]
    y_held = held["churned"].to_numpy()
    model.slope, model.intercept = fit_platt(model.margin(held), y_held)
    p_held = model.predict_proba(held)
    model.threshold = validation.choose_threshold(y_held, p_held)
    model.medium_cut = min(float(y_held.mean()), model.threshold)
    model.base_rate = float(np.mean([frames["fit"]["churned"].mean(), y_held.mean()]))
    return model


@dataclass(frozen=True)
class CapacityChoice:
    """The XGBoost setting chosen for this book, and every setting's inner-validation AUC."""

    setting: str
    params: dict[str, float]
    inner_auc: dict[str, float]
    chosen_on: str

    def to_dict(self) -> dict[str, Any]:
        """Return the choice as JSON-able values."""
        return {
            "setting": self.setting,
            "params": self.params,
            "inner_validation_auc": self.inner_auc,
            "chosen_on": self.chosen_on,
            "rule": f"simplest grid setting within {CAPACITY_TIE} of the best AUC on the "
            "calibration day, fitted on the fit days (the validation day is never used)",
        }


def choose_capacity(
    frames: dict[str, pd.DataFrame], numeric: list[str], categorical: list[str], seed: int
) -> tuple[ChurnModel, CapacityChoice]:
    """Return XGBoost fitted with the grid setting that validates best on the calibration day."""
    held = frames["calibrate"]
    fitted, aucs = {}, {}
    for setting, params in SERVED_XGBOOST_GRID.items():
        model = fit_uncalibrated("xgboost", frames["fit"], numeric, categorical, seed, params)
        fitted[setting] = model
        aucs[setting] = float(roc_auc_score(held["churned"].to_numpy(), model.margin(held)))
    best = max(aucs.values())
    setting = next(name for name, auc in aucs.items() if auc >= best - CAPACITY_TIE)
    day = str(held["as_of"].iloc[0])
    choice = CapacityChoice(setting, dict(SERVED_XGBOOST_GRID[setting]), aucs, day)
    return calibrate(fitted[setting], frames), choice


def split_frames(frame: pd.DataFrame, split: TimeSplit) -> dict[str, pd.DataFrame]:
    """Return the fit, calibrate and validate rows; refuse a split without churners to learn."""
    frames = {
        "fit": _rows(frame, split.fit),
        "calibrate": _rows(frame, [split.calibrate]),
        "validate": _rows(frame, [split.validate]),
    }
    for part, rows in frames.items():
        positives = int(rows["churned"].sum())
        if positives < (MIN_FIT_POSITIVES if part == "fit" else 1):
            raise InputError(
                f"the {part} snapshot(s) hold {len(rows)} accounts and {positives} churners; "
                "too few churners to train a churn model"
            )
    return frames


def evaluate(model: ChurnModel, rows: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray]:
    """Return the model's validation metrics on rows, and its probabilities."""
    p = model.predict_proba(rows)
    y = rows["churned"].to_numpy()
    metrics = validation.classification_metrics(y, p, model.threshold)
    metrics["raw_brier"] = float(np.mean((sigmoid(model.margin(rows)) - y) ** 2))
    return metrics, p


@dataclass
class TrainingResult:
    """The served candidate, both candidates' validation metrics and what the report needs."""

    split: TimeSplit
    model: ChurnModel
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    validation_probability: np.ndarray
    frames: dict[str, pd.DataFrame]
    capacity: CapacityChoice | None = None
    xgboost_metrics: dict[str, Any] | None = None
    skill: validation.SkillCheck | None = None

    def selection(self) -> dict[str, Any]:
        """Return which candidate serves and why (AUCs on the same validation rows)."""
        return {
            "served": self.model.name,
            "xgboost_auc": (self.xgboost_metrics or {}).get("auc"),
            "logistic_auc": self.baseline_metrics.get("auc"),
            "rule": f"xgboost serves only when its validation AUC beats the logistic's by more "
            f"than {SIMPLER_TIE}; otherwise the simpler logistic serves",
        }


def train_models(frame: pd.DataFrame, split: TimeSplit, seed: int = 0) -> TrainingResult:
    """Fit XGBoost (capacity chosen per book) and the logistic; serve the better, check skill."""
    numeric, categorical = feature_columns([c for c in frame.columns if c != "churned"])
    frames = split_frames(frame, split)
    numeric = [c for c in numeric if frames["fit"][c].notna().any()]
    with threadpool_limits(limits=1):  # small fits: spin-waiting threads on busy cores cost more
        xgb, capacity = choose_capacity(frames, numeric, categorical, seed)
        logistic = fit_candidate("logistic", frames, numeric, categorical, seed)
    xgb_metrics, p_xgb = evaluate(xgb, frames["validate"])
    baseline, p_logistic = evaluate(logistic, frames["validate"])
    xgb_wins = xgb_metrics["auc"] > baseline["auc"] + SIMPLER_TIE
    model, metrics, p = (xgb, xgb_metrics, p_xgb) if xgb_wins else (logistic, baseline, p_logistic)
    y = frames["validate"]["churned"].to_numpy()
    skill = validation.skill_check(y, p, training_days=len(split.fit) + 1, candidates=2)
    metrics = {**metrics, "auc_ci_low": skill.auc_ci_low, "auc_ci_high": skill.auc_ci_high}
    return TrainingResult(split, model, metrics, baseline, p, frames, capacity, xgb_metrics, skill)
