"""Out-of-time training: fit on early as-of days, calibrate on a later one, validate on the last.

Split (no random split across time): the validation day V is the latest as-of whose label
window is complete; the earlier days whose own label windows end by V (as_of + horizon ≤ V)
are training days, so no label of the training data looks past V. Of those, the latest is held
out to fit the calibration and choose the threshold (max F1); the model is fitted on the rest.
The model that is saved is exactly the one these numbers describe (no refit on later data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from tenure.churn import validation
from tenure.churn.estimators import SERVED_XGBOOST_PARAMS, logistic_model, xgboost_model
from tenure.churn.features import feature_columns
from tenure.churn.model import ChurnModel, fit_platt, sigmoid
from tenure.errors import InputError

MIN_FIT_POSITIVES = 5


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
) -> ChurnModel:
    """Fit one model on the fit rows, then calibrate and set its threshold on the held-out day."""
    if name == "xgboost":
        pipeline = xgboost_model(numeric, categorical, seed=seed, params=SERVED_XGBOOST_PARAMS)
    else:
        pipeline = logistic_model(numeric, categorical, seed=seed)
    model = ChurnModel(name=name, pipeline=pipeline, numeric=numeric, categorical=categorical)
    fit = frames["fit"]
    pipeline.fit(model.frame(fit), fit["churned"].to_numpy())
    held = frames["calibrate"]
    y_held = held["churned"].to_numpy()
    model.slope, model.intercept = fit_platt(model.margin(held), y_held)
    p_held = model.predict_proba(held)
    model.threshold = validation.choose_threshold(y_held, p_held)
    model.medium_cut = min(float(y_held.mean()), model.threshold)
    return model


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
    """Both candidates, their validation metrics and what the report needs."""

    split: TimeSplit
    model: ChurnModel
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    validation_probability: np.ndarray
    frames: dict[str, pd.DataFrame]


def train_models(frame: pd.DataFrame, split: TimeSplit, seed: int = 0) -> TrainingResult:
    """Fit the logistic baseline and XGBoost out of time; XGBoost is the deployable model."""
    numeric, categorical = feature_columns([c for c in frame.columns if c != "churned"])
    frames = split_frames(frame, split)
    numeric = [c for c in numeric if frames["fit"][c].notna().any()]
    xgb = fit_candidate("xgboost", frames, numeric, categorical, seed)
    logistic = fit_candidate("logistic", frames, numeric, categorical, seed)
    metrics, p = evaluate(xgb, frames["validate"])
    baseline, _ = evaluate(logistic, frames["validate"])
    return TrainingResult(split, xgb, metrics, baseline, p, frames)
