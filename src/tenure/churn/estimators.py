"""The churn models for tabular data, as unfitted scikit-learn estimators.

All preprocessing (imputation, splines, scaling, one-hot encoding) sits inside each Pipeline, so
cross-validation fits it on the training folds only.

- "logistic": an additive (GAM-style) L2-regularised logistic regression: each number enters
  through a cubic B-spline basis (scikit-learn defaults, 5 knots), each category one-hot.
- "xgboost": gradient-boosted trees on raw numbers (NaN routed by the trees) and one-hot
  categories (`XGBOOST_PARAMS`); the served product model uses `SERVED_XGBOOST_PARAMS`.
- "ensemble": scikit-learn's StackingClassifier of a slower XGBoost (`ENSEMBLE_XGBOOST_PARAMS`)
  and the spline logistic, combined by a logistic regression on the log-odds of their
  out-of-fold churn probabilities (an inner shuffled, stratified 3-fold split).

`LOGISTIC_PARAMS` and `XGBOOST_PARAMS` were fixed once, from common practice for small tabular
data sets, before any evaluation on the Telco or bank data. The spline basis, the ensemble's
make-up and `ENSEMBLE_XGBOOST_PARAMS` were *chosen by comparing candidates* in repeated 5-fold
CV with seeds 1 and 2 on those two public data sets: they are tuned to those data sets, though
not to the seed-0 folds that the quality gates in the tests use. Read the gate results with
that in mind, and change these values only with a held-out reason, never to move a CV score.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import StackingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    SplineTransformer,
    StandardScaler,
)

MODEL_NAMES = ("ensemble", "xgboost", "logistic")

LOGISTIC_PARAMS = {"C": 1.0, "max_iter": 3000}
XGBOOST_PARAMS = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "max_depth": 4,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
    "reg_lambda": 1.0,
}
ENSEMBLE_XGBOOST_PARAMS = {
    **XGBOOST_PARAMS,
    "n_estimators": 500,
    "learning_rate": 0.02,
    "min_child_weight": 5.0,
}
# The served churn model (`tenure model train`): shallow, strongly regularised trees. Chosen on a
# simulated book by rolling out-of-time validation (4 validation months, never the served
# validation day): mean ratio to the Bayes-optimal AUC 0.923 against 0.916 for XGBOOST_PARAMS,
# and exact tree SHAP, whose cost grows with leaves × depth², runs about 4× faster. The tree
# count then went from 800 (learning rate 0.03) to 300 (0.08) by a rule fixed in advance: the
# fewest trees within 0.002 of the 800-tree mean ratio (`bench/served_model.py`: 0.9262 against
# 0.9268 over 4 months × 2 seeds); scoring and tree SHAP cost scale with the tree count.
SERVED_XGBOOST_PARAMS = {
    "n_estimators": 300,
    "learning_rate": 0.08,
    "max_depth": 2,
    "subsample": 0.7,
    "colsample_bytree": 0.5,
    "min_child_weight": 20.0,
    "reg_lambda": 1.0,
}
# The grid `tenure model train` chooses the served XGBoost from, per book, by an inner
# time-ordered validation (fit on the fit days, AUC on the later calibration day; never the
# validation day). Simplest first: a tie (within CAPACITY_TIE of the best) goes to the earlier.
# `min_child_weight` is in hessian units (≈ p(1 − p) per row, about 0.04 at a 4 % churn rate),
# so 20 needs some 500 rows per leaf: fine for 10k accounts, a constant on a few hundred.
SERVED_XGBOOST_GRID = {
    "stumps_small_book": {
        **SERVED_XGBOOST_PARAMS,
        "n_estimators": 150,
        "learning_rate": 0.05,
        "max_depth": 1,
        "min_child_weight": 0.5,
        "reg_lambda": 5.0,
    },
    "depth2_small_book": {
        **SERVED_XGBOOST_PARAMS,
        "n_estimators": 200,
        "learning_rate": 0.05,
        "min_child_weight": 1.0,
        "reg_lambda": 5.0,
    },
    "depth2_mid_book": {**SERVED_XGBOOST_PARAMS, "min_child_weight": 5.0},
    "depth2_large_book": SERVED_XGBOOST_PARAMS,
}
CAPACITY_TIE = 0.005
STACK_FOLDS = 3
PROBABILITY_CLIP = 1e-6


def logistic_model(numeric: list[str], categorical: list[str], *, seed: int = 0) -> Pipeline:
    """Return an additive (GAM-style) L2-regularised logistic regression on spline bases."""
    numbers = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("spline", SplineTransformer()),
            ("scale", StandardScaler()),
        ]
    )
    prepare = ColumnTransformer(
        [
            ("numeric", numbers, numeric),
            ("categorical", _one_hot(), categorical),
        ],
        sparse_threshold=0.0,
    )
    classifier = LogisticRegression(**LOGISTIC_PARAMS, random_state=seed)
    return Pipeline([("prepare", prepare), ("classify", classifier)])


def xgboost_model(
    numeric: list[str],
    categorical: list[str],
    *,
    seed: int = 0,
    n_jobs: int = 2,
    params: dict[str, float] | None = None,
) -> Pipeline:
    """Return XGBoost (hist) on raw numbers (NaN kept, trees route it) and one-hot categories."""
    from xgboost import XGBClassifier  # heavy import: only when a model is built

    prepare = ColumnTransformer(
        [
            ("numeric", "passthrough", numeric),
            ("categorical", _one_hot(), categorical),
        ],
        sparse_threshold=0.0,
    )
    classifier = XGBClassifier(
        **(XGBOOST_PARAMS if params is None else params),
        tree_method="hist",
        eval_metric="logloss",
        random_state=seed,
        n_jobs=n_jobs,
    )
    return Pipeline([("prepare", prepare), ("classify", classifier)])


def ensemble_model(
    numeric: list[str], categorical: list[str], *, seed: int = 0
) -> StackingClassifier:
    """Return a stack of XGBoost and the spline logistic, weighted by a logistic stacker.

    The tree member runs on one thread: cross-validation fits it many times, and OpenMP threads
    that spin-wait on busy shared cores made those fits up to a hundred times slower.
    """
    members = [
        (
            "xgboost",
            xgboost_model(
                numeric, categorical, seed=seed, n_jobs=1, params=ENSEMBLE_XGBOOST_PARAMS
            ),
        ),
        ("logistic", logistic_model(numeric, categorical, seed=seed)),
    ]
    stacker = Pipeline(
        [
            ("log_odds", FunctionTransformer(clipped_logit)),
            ("combine", LogisticRegression()),
        ]
    )
    return StackingClassifier(
        members,
        final_estimator=stacker,
        cv=StratifiedKFold(n_splits=STACK_FOLDS, shuffle=True, random_state=seed),
        stack_method="predict_proba",
    )


def clipped_logit(probability: np.ndarray) -> np.ndarray:
    """Return the log-odds of probabilities clipped away from 0 and 1."""
    return logit(np.clip(probability, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP))


def churn_model(
    name: str, numeric: list[str], categorical: list[str], *, seed: int = 0
) -> Pipeline | StackingClassifier:
    """Return the unfitted model called `name` (one of MODEL_NAMES), trees on one thread."""
    if name == "ensemble":
        return ensemble_model(numeric, categorical, seed=seed)
    if name == "xgboost":
        return xgboost_model(numeric, categorical, seed=seed, n_jobs=1)
    if name == "logistic":
        return logistic_model(numeric, categorical, seed=seed)
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def _one_hot() -> OneHotEncoder:
    """Return a one-hot encoder that ignores categories unseen in the training folds."""
    return OneHotEncoder(handle_unknown="ignore", sparse_output=False)
