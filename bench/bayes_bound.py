"""The served model against the Bayes-optimal AUC and the observable ceiling, in one run.

Prints one JSON object. Per rolling validation month before the served validation day (the
same split as `tenure model train`, two seeds), on exactly the same rows:

- served: the served XGBoost settings fitted to the churn labels of the fit days;
- observable ceiling: an XGBoost regressor (logistic loss on soft targets) fitted on the same fit
  rows and the product's same features, but to the simulator's TRUE churn probability of each
  row instead of its 0/1 label; cross-fitted in time (it never sees the validation month), and
  scored, like the served model, against the validation month's actual outcomes. It removes the
  label noise, not the information the features lack: no deployment can beat it by much with
  these features. Its settings were fixed before the first run (deeper trees than served, since
  a noise-free target supports them); the same regressor with the served settings is reported
  as a diagnostic (`ceiling_served_capacity`);
- Bayes-optimal: the AUC of the true probabilities themselves (they know the hidden state).

Targets (issue 18): served ≥ 0.98 × the observable ceiling; the ratio to Bayes is reported.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from served_model import SEEDS, RollingBook, book_arguments, rolling_book
from tenure.churn.estimators import SERVED_XGBOOST_PARAMS, xgboost_model
from tenure.churn.features import feature_columns
from tenure.churn.fitted_model import ChurnModel
from tenure.churn.oracle import bayes_comparison

CEILING_PARAMS = {
    "n_estimators": 600,
    "learning_rate": 0.05,
    "max_depth": 4,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5.0,
    "reg_lambda": 1.0,
}
TARGET_RATIO = 0.98


def distilled_regressor(numeric: list[str], categorical: list[str], params: dict, seed: int):
    """Return XGBoost regression on probabilities (logistic loss), prepared like the served model."""
    from xgboost import XGBRegressor

    prepare = ColumnTransformer(
        [
            ("numeric", "passthrough", numeric),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ],
        sparse_threshold=0.0,
    )
    regressor = XGBRegressor(
        **params, objective="reg:logistic", tree_method="hist", random_state=seed, n_jobs=1
    )
    return Pipeline([("prepare", prepare), ("regress", regressor)])


def with_truth(rows: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    """Return rows joined to their true churn probability (rows without one are dropped)."""
    keys = known.assign(as_of=pd.to_datetime(known["as_of"]).dt.date)
    return rows.merge(keys, on=["external_id", "as_of"], how="inner")


def fold_figures(frames: dict, book: RollingBook, day: Any, seed: int) -> dict[str, float]:
    """Return served, ceiling and Bayes AUCs for one validation month and seed."""
    fit, held = frames["fit"], frames["validate"]
    columns = [c for c in fit.columns if c not in ("churned", "external_id", "as_of")]
    numeric, categorical = feature_columns(columns)
    numeric = [c for c in numeric if fit[c].notna().any()]
    served = xgboost_model(numeric, categorical, seed=seed, n_jobs=1, params=SERVED_XGBOOST_PARAMS)
    shape = ChurnModel("xgboost", served, numeric, categorical).frame
    served.fit(shape(fit), fit["churned"].to_numpy())
    comparison = bayes_comparison(book.truths[day], held, served.predict_proba(shape(held))[:, 1])
    distil = with_truth(fit, book.true_probabilities)
    y = held["churned"].to_numpy()
    figures = {
        "served": comparison["model_auc"],
        "bayes": comparison["bayes_optimal_auc"],
        "fit_rows": len(fit),
        "distilled_rows": len(distil),
    }
    for name, params in (("ceiling", CEILING_PARAMS), ("ceiling_served_capacity", None)):
        model = distilled_regressor(numeric, categorical, params or SERVED_XGBOOST_PARAMS, seed)
        model.fit(shape(distil), distil["p_true"].to_numpy())
        figures[name] = float(roc_auc_score(y, model.predict(shape(held))))
    return figures


def summary(args: Any, book: RollingBook, rows: list[dict], start: float) -> dict[str, Any]:
    """Return the JSON summary: means, ratios, per month and seed figures, seconds."""
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("served", "ceiling", "bayes")}
    mean["ceiling_served_capacity"] = float(np.mean([r["ceiling_served_capacity"] for r in rows]))
    per_fit = [r["served"] / r["ceiling"] for r in rows]
    return {
        "accounts": args.accounts, "months": args.months, "horizon": args.horizon,
        "validation_days": [d.isoformat() for d in book.days],
        "served_validation_day_left_out": book.served.isoformat(), "seeds": list(SEEDS),
        "served_auc": round(mean["served"], 4), "observable_ceiling_auc": round(mean["ceiling"], 4),
        "ceiling_served_capacity_auc": round(mean["ceiling_served_capacity"], 4),
        "bayes_optimal_auc": round(mean["bayes"], 4),
        "served_over_ceiling": round(mean["served"] / mean["ceiling"], 4),
        "served_over_ceiling_per_fit": [round(x, 4) for x in per_fit],
        "target_served_over_ceiling": TARGET_RATIO,
        "met": mean["served"] / mean["ceiling"] >= TARGET_RATIO,
        "served_over_bayes": round(mean["served"] / mean["bayes"], 4),
        "ceiling_over_bayes": round(mean["ceiling"] / mean["bayes"], 4),
        "fits": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
        "seconds": round(time.perf_counter() - start, 1),
    }  # fmt: skip


def main() -> None:
    """Fit served and distilled models per month and seed; print one JSON object."""
    args = book_arguments()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-bayes-") as tmp:
        book = rolling_book(
            Path(tmp), args.accounts, args.months, args.months_back, args.horizon, truth=True
        )
    rows = []
    for day in book.days:
        frames = book.frames(day)
        for seed in SEEDS:
            rows.append(
                {"day": day.isoformat(), "seed": seed, **fold_figures(frames, book, day, seed)}
            )
    print(json.dumps(summary(args, book, rows, start)))


if __name__ == "__main__":
    main()
