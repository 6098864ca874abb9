"""A fitted churn model: preprocessing + classifier, Platt calibration, threshold and tiers.

The served model is XGBoost or the spline logistic baseline, whichever validates better
(`tenure.churn.training`); both explain a score exactly: tree SHAP for the trees, and for the
additive logistic each feature's spline (or one-hot) terms times their coefficients.

Risk tiers are set against the book's base churn rate (`tier_labels`): "high" needs a
calibrated probability of at least HIGH_LIFT × the base rate *and* a place in the scored day's
top HIGH_SHARE of accounts; "medium" at least MEDIUM_LIFT × the base rate and the top
MEDIUM_SHARE. So no day puts more than a tenth of its accounts in "high", and a model whose
probabilities hug the base rate puts nobody there.

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
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tenure.churn import treeshap
from tenure.churn.reasons import is_missing

HIGH_LIFT, HIGH_SHARE = 3.0, 0.10
MEDIUM_LIFT, MEDIUM_SHARE = 1.5, 0.25


def tier_labels(probability: np.ndarray, base_rate: float) -> np.ndarray:
    """Return low / medium / high per probability of one scored day, against the base rate."""
    p = np.asarray(probability, float)
    rank = rankdata(-p, method="max")  # ties straddling a share boundary all fall below it
    high = (p >= HIGH_LIFT * base_rate) & (rank <= np.ceil(HIGH_SHARE * len(p)))
    medium = (p >= MEDIUM_LIFT * base_rate) & (rank <= np.ceil(MEDIUM_SHARE * len(p)))
    return np.where(high, "high", np.where(medium, "medium", "low"))


def tier_rule(base_rate: float) -> dict[str, str]:
    """Return the risk-tier rule in words, with the book's base rate filled in."""
    return {
        "base_rate": f"{base_rate:.2%} churn within the horizon (training snapshots)",
        "high": f"p >= {HIGH_LIFT:g} x base rate ({HIGH_LIFT * base_rate:.1%}) and in the day's "
        f"top {HIGH_SHARE:.0%}",
        "medium": f"p >= {MEDIUM_LIFT:g} x base rate ({MEDIUM_LIFT * base_rate:.1%}) and in the "
        f"day's top {MEDIUM_SHARE:.0%}",
        "low": "every other account",
    }


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
    base_rate: float | None = None  # None: a model saved before base-rate tiers
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
        """Return low / medium / high per probability of one scored day (`tier_labels`)."""
        p = np.asarray(probability)
        if self.base_rate is not None:
            return tier_labels(p, self.base_rate)
        return np.where(
            p >= self.threshold, "high", np.where(p >= self.medium_cut, "medium", "low")
        )

    def contributions(self, features: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Return per-feature SHAP contributions to the margin, and the bias per row (XGBoost)."""
        explained = self.explain(features)
        columns = pd.DataFrame(explained.contributions, columns=self.columns, index=features.index)
        return columns, explained.bias

    def explain(self, features: pd.DataFrame) -> Explanation:
        """Return the exact tree-SHAP explanation of the rows of a feature table, as arrays.

        Reads the feature columns straight into the model's column-major matrix (numbers,
        then the fitted one-hot encoding), without the per-column pandas frame.
        """
        import xgboost

        if self.name == "logistic":
            return self._explain_additive(features)
        if self.name != "xgboost":
            raise ValueError("per-feature contributions need the xgboost or logistic model")
        numbers = self.number_columns(features)
        columns = self.model_columns(features, numbers)
        explainer = self._shallow_explainer()
        if explainer is not None:  # shallow trees: the same values, several times faster
            raw = explainer.column_contributions(columns)  # one-hot levels already summed
            contributions = raw[:, :-1]
        else:
            booster = self.pipeline[-1].get_booster()
            matrix = xgboost.DMatrix(np.ascontiguousarray(columns.T))
            raw = booster.predict(matrix, pred_contribs=True)
            contributions = self._fold_one_hot(raw[:, :-1])
        return Explanation(contributions, raw[:, -1].astype(float), numbers.T)

    def _explain_additive(self, features: pd.DataFrame) -> Explanation:
        """Return the logistic's exact explanation: each feature's terms times coefficients.

        The prepared columns are standardised, so a contribution is relative to the average
        account of the training rows, as tree SHAP's is.
        """
        prepared = self.pipeline[:-1].transform(self.frame(features))
        classifier = self.pipeline[-1]
        per_column = prepared * classifier.coef_[0]
        contributions = self._fold(per_column, self._additive_features())
        bias = np.full(len(features), float(classifier.intercept_[0]))
        return Explanation(contributions, bias, self.number_columns(features).T)

    def _additive_features(self) -> np.ndarray:
        """Return, per prepared column of the logistic, the index of its model feature."""
        numbers = self.pipeline.named_steps["prepare"].named_transformers_.get("numeric")
        out: list[int] = []
        if self.numeric and numbers is not None:
            indicator = numbers.named_steps["impute"].indicator_
            inputs = [*range(len(self.numeric)), *(indicator.features_ if indicator else [])]
            spline = numbers.named_steps["spline"]
            per_input = spline.n_features_out_ // len(inputs)
            out += [k for k in inputs for _ in range(per_input)]
        numeric = len(self.numeric)
        out += [numeric + k for k, known in enumerate(self._levels()) for _ in known]
        return np.array(out, dtype=np.int64)

    def number_columns(self, features: pd.DataFrame) -> np.ndarray:
        """Return (numeric features, rows) float64: each numeric feature, NaN where missing."""
        out = np.full((len(self.numeric), len(features)), np.nan)
        for i, name in enumerate(self.numeric):
            if name in features.columns:
                out[i] = features[name].to_numpy(dtype=float, na_value=np.nan)
        return out

    def model_columns(self, features: pd.DataFrame, numbers: np.ndarray) -> np.ndarray:
        """Return the prepared matrix column-major (model columns, rows) as float32.

        The same values as the Pipeline's ColumnTransformer: numbers passed through, then the
        fitted encoder's one-hot columns (an unseen category sets none of them).
        """
        levels = self._levels()
        width = len(numbers) + sum(len(known) for known in levels)
        out = np.zeros((width, len(features)), dtype=np.float32)
        out[: len(numbers)] = numbers
        start = len(numbers)
        absent = pd.Series(np.nan, index=features.index, dtype=object)  # as `frame` fills it
        for name, known in zip(self.categorical, levels, strict=True):
            column = features[name] if name in features.columns else absent
            codes = level_codes(column, known)
            rows = np.flatnonzero(codes >= 0)
            out[start + codes[rows], rows] = 1.0
            start += len(known)
        return out

    def _levels(self) -> list[np.ndarray]:
        """Return the one-hot encoder's levels of each categorical feature (none without)."""
        if not self.categorical:
            return []
        return list(
            self.pipeline.named_steps["prepare"].named_transformers_["categorical"].categories_
        )

    def _column_features(self) -> np.ndarray:
        """Return, per prepared column, the index of the model feature it belongs to."""
        numeric = len(self.numeric)
        levels = [numeric + k for k, known in enumerate(self._levels()) for _ in known]
        return np.array([*range(numeric), *levels], dtype=np.int64)

    def _shallow_explainer(self) -> treeshap.ShallowTreeShap | None:
        """Return the vectorised tree SHAP per model feature (built once, then kept), or None."""
        if "_shallow" not in self.__dict__:
            explainer = treeshap.from_booster(self.pipeline[-1].get_booster())
            if explainer is not None:
                explainer = explainer.grouped(self._column_features(), len(self.columns))
            self.__dict__["_shallow"] = explainer
        return self.__dict__["_shallow"]

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the model without the explainer it can rebuild."""
        return {k: v for k, v in self.__dict__.items() if k != "_shallow"}

    def _fold_one_hot(self, per_column: np.ndarray) -> np.ndarray:
        """Return (rows, features) contributions: one-hot columns summed onto their feature."""
        return self._fold(per_column, self._column_features())

    def _fold(self, per_column: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Return (rows, features): each prepared column's values summed onto its feature."""
        if len(groups) != per_column.shape[1]:
            raise ValueError(f"{per_column.shape[1]} model columns, expected {len(groups)}")
        fold = np.zeros((len(groups), len(self.columns)), dtype=per_column.dtype)
        fold[np.arange(len(groups)), groups] = 1.0
        return per_column @ fold


def level_codes(values: pd.Series, levels: np.ndarray) -> np.ndarray:
    """Return each value's position among an encoder's levels, -1 where it is not one.

    Matches scikit-learn's OneHotEncoder on object columns: None and NaN are distinct
    missing values, each with a level (sorted last) only if it was seen in training.
    """
    cells = values.to_numpy(dtype=object)
    distinct, seen = pd.factorize(cells)  # each distinct value hashed once; missing → -1
    known = [level for level in levels if not is_missing(level)]
    per_value = pd.Categorical(seen, categories=known).codes.astype(np.int64)
    codes = np.append(per_value, -1)[distinct]
    none_at = next((i for i, level in enumerate(levels) if level is None), -1)
    nan_at = next((i for i, level in enumerate(levels) if _is_nan(level)), -1)
    for row in np.flatnonzero(distinct < 0):  # usually few: the missing kinds, one by one
        value = cells[row]
        codes[row] = none_at if value is None else nan_at if _is_nan(value) else -1
    return codes


def _is_nan(value: Any) -> bool:
    """Return True for a float NaN."""
    return isinstance(value, float) and value != value


@dataclass(frozen=True)
class Explanation:
    """Tree-SHAP contributions of many rows (features in the model's column order)."""

    contributions: np.ndarray  # (rows, features): log-odds contributions to the margin
    bias: np.ndarray  # (rows,): the expected margin; contributions + bias sum to the margin
    numbers: np.ndarray  # (rows, numeric features): the values the numeric features had
