"""A fitted churn model: preprocessing + classifier, Platt calibration, threshold and tiers.

Calibration is Platt scaling on the model's raw log-odds (margin), fitted on a held-out later
as-of day: calibrated log-odds = slope · margin + intercept. For XGBoost the margin is the sum
of the exact tree-SHAP contributions (`pred_contribs`, or the same values from
`tenure.churn.treeshap` for shallow trees), so slope · contribution is each
feature's share of the calibrated log-odds and the reasons add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tenure.churn import treeshap


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Return 1 / (1 + e^−x)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, float)))


def fit_platt(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return (slope, intercept) of a logistic fit of y on the margin (barely regularised)."""
    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(margin).reshape(-1, 1), y)
    return float(fitted.coef_[0, 0]), float(fitted.intercept_[0])


@dataclass
class ChurnModel:
    """What scoring needs: the fitted Pipeline, its input columns and the calibration."""

    name: str
    pipeline: Pipeline
    numeric: list[str]
    categorical: list[str]
    slope: float = 1.0
    intercept: float = 0.0
    threshold: float = 0.5
    medium_cut: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Return the feature columns the model reads."""
        return [*self.numeric, *self.categorical]

    def frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """Return the model's columns (missing ones as NaN) with numbers as floats."""
        out = features.reindex(columns=self.columns)
        out[self.numeric] = out[self.numeric].astype(float)
        out[self.categorical] = out[self.categorical].astype(object)
        return out

    def margin(self, features: pd.DataFrame) -> np.ndarray:
        """Return the uncalibrated log-odds of churn."""
        x = self.frame(features)
        classifier = self.pipeline[-1]
        prepared = self.pipeline[:-1].transform(x)
        if self.name == "xgboost":
            return classifier.predict(prepared, output_margin=True)
        return classifier.decision_function(prepared)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Return calibrated churn probabilities."""
        return sigmoid(self.slope * self.margin(features) + self.intercept)

    def risk_tiers(self, probability: np.ndarray) -> np.ndarray:
        """Return low / medium / high per probability (high: at or above the threshold)."""
        p = np.asarray(probability)
        return np.where(
            p >= self.threshold, "high", np.where(p >= self.medium_cut, "medium", "low")
        )

    def contributions(self, features: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Return per-feature SHAP contributions to the margin, and the bias per row (XGBoost)."""
        return self.frame_contributions(self.frame(features))

    def frame_contributions(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Return `contributions` of rows already shaped by `frame` (no second conversion)."""
        import xgboost

        if self.name != "xgboost":
            raise ValueError("per-feature contributions need the xgboost model")
        prepared = self.pipeline[:-1].transform(frame)
        booster = self.pipeline[-1].get_booster()
        explainer = treeshap.from_booster(booster)
        if explainer is not None:  # shallow trees: the same values, several times faster
            raw = explainer.contributions(prepared).astype(float)
        else:
            raw = booster.predict(xgboost.DMatrix(prepared), pred_contribs=True)
        names = list(self.pipeline[:-1].get_feature_names_out())
        per_column = pd.DataFrame(raw[:, :-1], columns=names, index=frame.index)
        return self._fold_one_hot(per_column), raw[:, -1]

    def _fold_one_hot(self, per_column: pd.DataFrame) -> pd.DataFrame:
        """Sum one-hot columns back onto their categorical feature."""
        out = {}
        for name in self.numeric:
            out[name] = per_column[f"numeric__{name}"].to_numpy()
        for name in self.categorical:
            prefix = f"categorical__{name}_"
            cols = [c for c in per_column.columns if c.startswith(prefix)]
            out[name] = per_column[cols].sum(axis=1).to_numpy() if cols else 0.0
        return pd.DataFrame(out, index=per_column.index)
