"""On simulated data: the Bayes-optimal AUC for exactly the validation accounts and labels.

The simulator writes each account's true P(churn within 30/90 days) per day (`sim_truth`).
The truth row dated D + 1 describes days D+1 … D+horizon, the very window of the label of
as-of D, so scoring the validation rows with it gives the best AUC any model could reach on
the same rows (it knows the hidden engagement state); a model's ratio to it is its efficiency.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from tenure.warehouse.catalog import SIM_TRUTH


def has_truth(con: Any) -> bool:
    """Return True when the warehouse holds the simulator's ground truth."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [SIM_TRUTH]
    ).fetchone()[0]
    return bool(found)


def true_probabilities(con: Any, as_of: date, horizon: int) -> pd.DataFrame:
    """Return external_id, p_true: the truth's churn probability for the as-of's label window."""
    column = f"p_churn_{horizon}"
    return con.execute(
        f"SELECT account_id AS external_id, {column} AS p_true FROM {SIM_TRUTH} WHERE date = ?",
        [as_of + timedelta(days=1)],
    ).df()


def truth_for(con: Any, as_of: date, horizon: int) -> pd.DataFrame | None:
    """Return the truth's probabilities for an as-of's label window, or None without truth."""
    if horizon not in (30, 90) or not has_truth(con):
        return None
    return true_probabilities(con, as_of, horizon)


def bayes_comparison(
    truth: pd.DataFrame | None, rows: pd.DataFrame, model_probability: np.ndarray
) -> dict[str, Any] | None:
    """Return model AUC, Bayes-optimal AUC and their ratio on the rows that have a truth value."""
    if truth is None or rows.empty:
        return None
    as_of = rows["as_of"].iloc[0]
    frame = rows[["external_id", "churned"]].assign(p_model=model_probability)
    merged = frame.merge(truth, on="external_id", how="inner")
    y = merged["churned"].to_numpy()
    if merged.empty or y.min() == y.max():
        return None
    model_auc = float(roc_auc_score(y, merged["p_model"]))
    bayes_auc = float(roc_auc_score(y, merged["p_true"]))
    return {
        "as_of": str(as_of),
        "rows": len(merged),
        "rows_without_truth": len(frame) - len(merged),
        "model_auc": model_auc,
        "bayes_optimal_auc": bayes_auc,
        "ratio": model_auc / bayes_auc,
    }
