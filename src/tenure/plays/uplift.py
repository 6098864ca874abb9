"""Uplift meta-learners (T and X) on gradient-boosted trees, in the scikit-learn contract.

`fit(X, y, treatment)` learns from a randomised comparison; `predict(X)` returns each unit's
estimated treatment effect on the outcome (a probability difference for a 0/1 outcome).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

TREE_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "max_depth": 4,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "min_child_weight": 5,
    "tree_method": "hist",
}


def is_binary(y: np.ndarray) -> bool:
    """Return whether an outcome takes only the values 0 and 1."""
    return bool(np.isin(np.unique(y), (0.0, 1.0)).all())


def outcome_model(
    binary: bool, seed: int = 0, n_jobs: int = 1, params: dict[str, Any] | None = None
) -> Any:
    """Return an unfitted XGBoost classifier (0/1 outcome) or regressor (params override)."""
    from xgboost import XGBClassifier, XGBRegressor  # heavy import: only when fitting

    tree = {**TREE_PARAMS, **(params or {})}
    if binary:
        return XGBClassifier(**tree, random_state=seed, n_jobs=n_jobs, eval_metric="logloss")
    return XGBRegressor(**tree, random_state=seed, n_jobs=n_jobs)


def effect_model(seed: int = 0, n_jobs: int = 1) -> Any:
    """Return an unfitted XGBoost regressor for imputed treatment effects."""
    return outcome_model(False, seed, n_jobs)


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def _split(X: Any, y: Any, treatment: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment, dtype=bool)
    if not t.any() or t.all():
        raise ValueError("uplift models need treated and control units")
    return X, y, t


class TLearner(BaseEstimator):
    """Two outcome models, one per arm; the effect is their difference."""

    def __init__(
        self, seed: int = 0, n_jobs: int = 1, params: dict[str, Any] | None = None
    ) -> None:
        """Keep the parameters (no work here, per the scikit-learn contract)."""
        self.seed = seed
        self.n_jobs = n_jobs
        self.params = params  # XGBoost overrides of TREE_PARAMS

    def fit(self, X: Any, y: Any, treatment: Any) -> TLearner:
        """Fit the control and treated outcome models."""
        X, y, t = _split(X, y, treatment)
        template = outcome_model(is_binary(y), self.seed, self.n_jobs, self.params)
        self.control_model_ = clone(template).fit(X[~t], y[~t])
        self.treated_model_ = clone(template).fit(X[t], y[t])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Return the estimated effect per row: treated − control prediction."""
        X = np.asarray(X, dtype=float)
        return _predict(self.treated_model_, X) - _predict(self.control_model_, X)


class XLearner(BaseEstimator):
    """Künzel et al.'s X-learner: outcome models, imputed effects per arm, propensity-weighted."""

    def __init__(self, seed: int = 0, n_jobs: int = 1) -> None:
        """Keep the parameters (no work here, per the scikit-learn contract)."""
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any, treatment: Any) -> XLearner:
        """Fit outcome models, then effect models on each arm's imputed effects."""
        X, y, t = _split(X, y, treatment)
        first = TLearner(self.seed, self.n_jobs).fit(X, y, t)
        imputed_treated = y[t] - _predict(first.control_model_, X[t])
        imputed_control = _predict(first.treated_model_, X[~t]) - y[~t]
        self.treated_effect_ = effect_model(self.seed, self.n_jobs).fit(X[t], imputed_treated)
        self.control_effect_ = effect_model(self.seed, self.n_jobs).fit(X[~t], imputed_control)
        self.propensity_ = float(t.mean())  # randomised: the share treated, the same for all
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Return g·τ₀(x) + (1 − g)·τ₁(x) with g the propensity of treatment."""
        X = np.asarray(X, dtype=float)
        g = self.propensity_
        return g * self.control_effect_.predict(X) + (1 - g) * self.treated_effect_.predict(X)


LEARNERS = {"t_learner": TLearner, "x_learner": XLearner}


def cross_fitted_uplift(
    X: np.ndarray, y: np.ndarray, treatment: np.ndarray, model: str, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Return out-of-fold uplift predictions: each row scored by a model that never saw it."""
    from sklearn.model_selection import StratifiedKFold

    strata = treatment.astype(int) * 2 + (y > np.median(y)).astype(int)
    scores = np.empty(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(X, strata):
        learner = LEARNERS[model](seed=seed).fit(X[train], y[train], treatment[train])
        scores[test] = learner.predict(X[test])
    return scores
