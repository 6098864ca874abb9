"""The two churn models for tabular data, as unfitted scikit-learn Pipelines.

All preprocessing (imputation, scaling, one-hot encoding) sits inside the Pipeline, so
cross-validation fits it on the training folds only.

The hyper-parameters below were fixed once, from common practice for small tabular data sets,
before any evaluation on the Telco or bank data; they are *not* tuned to those data sets (nor to
their test folds). Change them only with a held-out reason, never to move a CV score.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MODEL_NAMES = ("xgboost", "logistic")

LOGISTIC_PARAMS = {"C": 1.0, "max_iter": 2000}
XGBOOST_PARAMS = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "max_depth": 4,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
    "reg_lambda": 1.0,
}


def logistic_model(numeric: list[str], categorical: list[str], *, seed: int = 0) -> Pipeline:
    """Return an L2-regularised logistic regression: impute, standardise, one-hot, fit."""
    numbers = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
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
    numeric: list[str], categorical: list[str], *, seed: int = 0, n_jobs: int = 2
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
        **XGBOOST_PARAMS,
        tree_method="hist",
        eval_metric="logloss",
        random_state=seed,
        n_jobs=n_jobs,
    )
    return Pipeline([("prepare", prepare), ("classify", classifier)])


def churn_model(
    name: str, numeric: list[str], categorical: list[str], *, seed: int = 0
) -> Pipeline:
    """Return the unfitted model called `name` ("xgboost" or "logistic")."""
    if name == "xgboost":
        return xgboost_model(numeric, categorical, seed=seed)
    if name == "logistic":
        return logistic_model(numeric, categorical, seed=seed)
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def _one_hot() -> OneHotEncoder:
    """Return a one-hot encoder that ignores categories unseen in the training folds."""
    return OneHotEncoder(handle_unknown="ignore", sparse_output=False)
