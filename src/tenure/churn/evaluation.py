"""Stratified k-fold evaluation of a churn model, with the decision threshold chosen honestly.

For each outer fold, the model (preprocessing included, and for the ensemble its stacking) is
fitted on the training folds only. The decision threshold behind accuracy and F1 is chosen from
out-of-fold scores computed *inside the training folds* (an inner stratified split), so the test
fold never influences it. Ranking and probability metrics (AUC, PR-AUC, Brier) need no threshold.

BLAS runs single-threaded during evaluation: the matrices are small, and BLAS threads that
spin-wait on shared cores made the spline logistic several times slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from tenure.churn.estimators import churn_model
from tenure.churn.tabular import ChurnTable
from tenure.errors import InputError

METRICS = ("auc", "pr_auc", "brier", "accuracy", "f1")
OBJECTIVES = ("accuracy", "f1")
THRESHOLD_GRID = np.round(np.linspace(0.05, 0.95, 91), 2)
INNER_FOLDS = 3


def evaluate_churn_model(
    table: ChurnTable,
    model: str,
    *,
    folds: int = 5,
    seed: int = 0,
    objective: str = "accuracy",
) -> dict[str, Any]:
    """Return mean ± std of AUC, PR-AUC, Brier, accuracy and F1 over stratified k folds."""
    _check_folds(table, folds)
    estimator = churn_model(model, table.numeric, table.categorical, seed=seed)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1, user_api="blas"):
        per_fold = [
            fold_metrics(estimator, table.features, table.target, train, test, seed, objective)
            for train, test in splitter.split(table.features, table.target)
        ]
    result: dict[str, Any] = {"model": model, "n_rows": table.n_rows}
    result["positive_rate"] = table.positive_rate
    for name in (*METRICS, "threshold"):
        values = np.array([fold[name] for fold in per_fold])
        result[name] = float(values.mean())
        result[f"{name}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    result.update(folds=folds, seed=seed, threshold_objective=objective, fold_metrics=per_fold)
    return result


def fold_metrics(
    estimator: BaseEstimator,
    features: pd.DataFrame,
    target: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    seed: int,
    objective: str,
) -> dict[str, float]:
    """Fit on the training rows, choose the threshold there, and score the test rows."""
    x_train, y_train = features.iloc[train], target[train]
    inner = training_scores(estimator, x_train, y_train, seed=seed)
    threshold = choose_threshold(y_train, inner, objective)
    fitted = clone(estimator).fit(x_train, y_train)
    scores = fitted.predict_proba(features.iloc[test])[:, 1]
    y_test = target[test]
    predicted = (scores >= threshold).astype(int)
    return {
        "auc": float(roc_auc_score(y_test, scores)),
        "pr_auc": float(average_precision_score(y_test, scores)),
        "brier": float(brier_score_loss(y_test, scores)),
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted, zero_division=0.0)),
        "threshold": float(threshold),
    }


def training_scores(
    estimator: BaseEstimator, x_train: pd.DataFrame, y_train: np.ndarray, *, seed: int
) -> np.ndarray:
    """Return out-of-fold churn scores for the training rows (an inner stratified split)."""
    inner = StratifiedKFold(n_splits=INNER_FOLDS, shuffle=True, random_state=seed + 1)
    scores = np.empty(len(y_train), dtype=float)
    for fit_rows, score_rows in inner.split(x_train, y_train):
        fitted = clone(estimator).fit(x_train.iloc[fit_rows], y_train[fit_rows])
        scores[score_rows] = fitted.predict_proba(x_train.iloc[score_rows])[:, 1]
    return scores


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, objective: str) -> float:
    """Return the grid threshold that maximises accuracy or F1 on these (training) scores."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown threshold objective {objective!r}; expected {OBJECTIVES}")
    metric: Callable[..., float] = accuracy_score if objective == "accuracy" else _f1
    values = [metric(y_true, (scores >= t).astype(int)) for t in THRESHOLD_GRID]
    return float(THRESHOLD_GRID[int(np.argmax(values))])


def _f1(y_true: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(y_true, predicted, zero_division=0.0))


def _check_folds(table: ChurnTable, folds: int) -> None:
    """Refuse fold counts that stratified CV (with an inner split) cannot honour."""
    minority = int(min(table.target.sum(), table.n_rows - table.target.sum()))
    if folds < 2:
        raise InputError(f"--folds must be at least 2, got {folds}")
    if minority < folds * INNER_FOLDS:
        raise InputError(
            f"the rarer target class has {minority} rows; {folds}-fold CV with a "
            f"{INNER_FOLDS}-fold inner split needs at least {folds * INNER_FOLDS}"
        )
    if not table.numeric and not table.categorical:
        dropped = ", ".join(f"{k} ({v})" for k, v in table.dropped.items())
        raise InputError(f"no feature columns left to model; dropped: {dropped}")
