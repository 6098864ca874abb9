"""Stratified k-fold evaluation of a churn model, with the decision threshold chosen honestly.

For each outer fold, the model (preprocessing included, and for the ensemble its stacking) is
fitted on the training folds only. The decision threshold behind accuracy and F1 is chosen from
out-of-fold scores computed *inside the training folds* (an inner stratified split), so the test
fold never influences it. Ranking and probability metrics (AUC, PR-AUC, Brier) need no threshold.
Target leaks are screened on each fold's training rows too (`tenure.churn.leakage`), and a mean
AUC of 0.99 or more is flagged as too good to be true, with the features that carry it.

The default model, "auto", is chosen per outer fold by nested cross-validation: every candidate
(`CANDIDATES`) is scored on the same inner split of the training folds, the best mean inner AUC
wins (ties to the earlier candidate), and the outer test fold scores only the winner. The winner's
inner out-of-fold scores also set the threshold, so nesting costs the candidates' inner fits and
nothing more. The reported figures stay honest: the test fold never takes part in the choice.

BLAS runs single-threaded during evaluation: the matrices are small, and BLAS threads that
spin-wait on shared cores made the spline logistic several times slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from tenure.churn import leakage
from tenure.churn.estimators import MODEL_NAMES, churn_model
from tenure.churn.tabular import ChurnTable
from tenure.errors import InputError

METRICS = ("auc", "pr_auc", "brier", "accuracy", "f1")
OBJECTIVES = ("accuracy", "f1")
THRESHOLD_GRID = np.round(np.linspace(0.05, 0.95, 91), 2)
INNER_FOLDS = 3
AUTO = "auto"
CANDIDATES = MODEL_NAMES  # ensemble, xgboost, logistic: the order breaks ties
SUSPICIOUS_AUC = 0.99
TOP_FEATURES = 5


def evaluate_churn_model(
    table: ChurnTable,
    model: str,
    *,
    folds: int = 5,
    seed: int = 0,
    objective: str = "accuracy",
) -> dict[str, Any]:
    """Return mean ± std of AUC, PR-AUC, Brier, accuracy and F1 over stratified k folds.

    With model "auto", each outer fold scores the candidate its inner CV chose (`model` and
    `inner_auc` in its fold metrics; `chosen_models` lists them).
    """
    _check_folds(table, folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    candidates = CANDIDATES if model == AUTO else (model,)
    per_fold, screenings = [], []
    with threadpool_limits(limits=1, user_api="blas"):
        for train, test in splitter.split(table.features, table.target):
            screening = screen_fold(table, train, seed)
            screenings.append(screening)
            per_fold.append(
                nested_fold(table, candidates, screening.dropped, train, test, seed, objective)
            )
    result: dict[str, Any] = {"model": model, "n_rows": table.n_rows}
    result["positive_rate"] = table.positive_rate
    for name in (*METRICS, "threshold"):
        values = np.array([fold[name] for fold in per_fold])
        result[name] = float(values.mean())
        result[f"{name}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    result.update(folds=folds, seed=seed, threshold_objective=objective, fold_metrics=per_fold)
    if model == AUTO:
        result.update(candidates=list(candidates), chosen_models=[f["model"] for f in per_fold])
    else:
        for fold in per_fold:
            del fold["model"], fold["inner_auc"]
    screening = leakage.combine(screenings)
    result.update(leak_report(screening))
    if result["auc"] >= SUSPICIOUS_AUC:
        result["suspicious"] = True
        chosen = [f.get("model", model) for f in per_fold]
        representative = max(set(chosen), key=chosen.count)
        result["top_features"] = top_features(table, representative, screening, seed)
        result["warnings"].append(suspicious_warning(result["auc"], result["top_features"]))
    return result


def screen_fold(table: ChurnTable, train: np.ndarray, seed: int) -> leakage.Screening:
    """Return the leak findings on one fold's training rows (the test rows are never read)."""
    return leakage.screen(
        table.features.iloc[train], table.target[train], keep=table.keep, seed=seed
    )


def fold_model(table: ChurnTable, model: str, leaks: list[str], seed: int) -> BaseEstimator:
    """Return the unfitted model on the table's columns less this fold's leaks."""
    numeric = [name for name in table.numeric if name not in leaks]
    categorical = [name for name in table.categorical if name not in leaks]
    if not numeric and not categorical:
        raise InputError(f"every feature column was dropped as a leak: {', '.join(leaks)}")
    return churn_model(model, numeric, categorical, seed=seed)


def leak_report(screening: leakage.Screening) -> dict[str, Any]:
    """Return the JSON fields of the leak checks: leaks (column → reason), warnings, suspicious."""
    return {
        "leaks": {finding.column: finding.reason for finding in screening.leaks},
        "warnings": screening.messages(),
        "suspicious": False,
    }


def top_features(
    table: ChurnTable, model: str, screening: leakage.Screening, seed: int
) -> list[dict[str, Any]]:
    """Return the features whose shuffling costs the most AUC on a held-out half of the rows."""
    splitter = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
    train, test = next(splitter.split(table.features, table.target))
    estimator = fold_model(table, model, screening.dropped, seed)
    columns = [c for c in table.numeric + table.categorical if c not in screening.dropped]
    features = table.features[columns]
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = clone(estimator).fit(features.iloc[train], table.target[train])
        found = permutation_importance(
            fitted, features.iloc[test], table.target[test], scoring="roc_auc",
            n_repeats=2, random_state=seed,
        )  # fmt: skip
    ranked = sorted(zip(columns, found.importances_mean, strict=True), key=lambda cv: -cv[1])
    return [{"feature": c, "auc_drop": float(v)} for c, v in ranked[:TOP_FEATURES]]


def suspicious_warning(auc: float, features: list[dict[str, Any]]) -> str:
    """Return the "too good to be true" warning, naming the features that carry the score."""
    listed = ", ".join(f"{f['feature']} ({f['auc_drop']:.3f})" for f in features)
    return (
        f"cross-validated AUC {auc:.3f} is too good to be true for churn: real churn tables "
        "rarely exceed 0.95; check the top features by importance (AUC lost when shuffled) for "
        f"a leak and pass --drop COL to drop one: {listed}"
    )


def nested_fold(
    table: ChurnTable,
    candidates: tuple[str, ...],
    leaks: list[str],
    train: np.ndarray,
    test: np.ndarray,
    seed: int,
    objective: str,
) -> dict[str, Any]:
    """Choose a candidate by inner CV on the training rows; return its test-fold metrics."""
    x_train, y_train = table.features.iloc[train], table.target[train]
    models = {name: fold_model(table, name, leaks, seed) for name in candidates}
    scores = {name: training_scores(m, x_train, y_train, seed=seed) for name, m in models.items()}
    inner_auc = {name: mean_inner_auc(y_train, scores[name], seed) for name in candidates}
    chosen = max(candidates, key=lambda name: inner_auc[name])  # ties: the earlier candidate
    threshold = choose_threshold(y_train, scores[chosen], objective)
    fitted = clone(models[chosen]).fit(x_train, y_train)
    metrics = holdout_metrics(fitted, table.features.iloc[test], table.target[test], threshold)
    return {**metrics, "model": chosen, "inner_auc": inner_auc}


def holdout_metrics(
    fitted: BaseEstimator, x_test: pd.DataFrame, y_test: np.ndarray, threshold: float
) -> dict[str, float]:
    """Return AUC, PR-AUC, Brier, accuracy and F1 of a fitted model on the test rows."""
    scores = fitted.predict_proba(x_test)[:, 1]
    predicted = (scores >= threshold).astype(int)
    return {
        "auc": float(roc_auc_score(y_test, scores)),
        "pr_auc": float(average_precision_score(y_test, scores)),
        "brier": float(brier_score_loss(y_test, scores)),
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted, zero_division=0.0)),
        "threshold": float(threshold),
    }


def inner_splits(y_train: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the inner stratified split of the training rows (the same for every candidate)."""
    inner = StratifiedKFold(n_splits=INNER_FOLDS, shuffle=True, random_state=seed + 1)
    return list(inner.split(np.zeros(len(y_train)), y_train))


def mean_inner_auc(y_train: np.ndarray, scores: np.ndarray, seed: int) -> float:
    """Return the mean AUC over the inner folds of out-of-fold scores (each fold's own model)."""
    aucs = [roc_auc_score(y_train[rows], scores[rows]) for _, rows in inner_splits(y_train, seed)]
    return float(np.mean(aucs))


def training_scores(
    estimator: BaseEstimator, x_train: pd.DataFrame, y_train: np.ndarray, *, seed: int
) -> np.ndarray:
    """Return out-of-fold churn scores for the training rows (an inner stratified split)."""
    scores = np.empty(len(y_train), dtype=float)
    for fit_rows, score_rows in inner_splits(y_train, seed):
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
