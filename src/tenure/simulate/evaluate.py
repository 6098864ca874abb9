"""Score the truth against what happened: churn labels from subscriptions, Bayes-optimal AUC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def churn_dates(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Return (account_id, churn_date) for every subscription end not followed by a new row.

    A row that ends at the same instant another row of the account starts was replaced by a
    seat change (expansion or contraction); every other end is a churn.
    """
    subs = subscriptions.dropna(subset=["ended_at"])
    starts = set(zip(subscriptions["account_id"], subscriptions["started_at"], strict=True))
    keys = zip(subs["account_id"], subs["ended_at"], strict=True)
    churned = subs[[key not in starts for key in keys]]
    dates = pd.to_datetime(churned["ended_at"], utc=True).dt.tz_localize(None).dt.normalize()
    return pd.DataFrame({"account_id": churned["account_id"].to_numpy(), "churn_date": dates})


def label_truth(truth: pd.DataFrame, churns: pd.DataFrame, horizon: int) -> np.ndarray:
    """Return, per truth row, whether the account churned on one of days date … date+horizon−1."""
    codes = {
        a: i for i, a in enumerate(sorted(set(truth["account_id"]) | set(churns["account_id"])))
    }
    day = np.timedelta64(1, "D")
    churn_key = np.sort(
        churns["account_id"].map(codes).to_numpy(np.int64) * 1_000_000
        + (churns["churn_date"].to_numpy("datetime64[D]") - np.datetime64("1970-01-01")) // day
    )
    truth_day = (truth["date"].to_numpy("datetime64[D]") - np.datetime64("1970-01-01")) // day
    key = truth["account_id"].map(codes).to_numpy(np.int64) * 1_000_000 + truth_day
    nxt = np.searchsorted(churn_key, key, side="left")
    found = np.append(churn_key, np.iinfo(np.int64).max)[nxt]
    return found < key + horizon


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the ROC AUC (Mann–Whitney, ties count half)."""
    labels = np.asarray(labels, dtype=bool)
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    sorted_scores = np.asarray(scores)[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bayes_optimal_auc(out_dir: Path, horizon: int = 90) -> dict[str, float]:
    """Return the AUC of the true p_churn_<horizon> on every row with a full follow-up window."""
    subs = pd.read_csv(out_dir / "subscriptions.csv", dtype=str)
    truth = pq.read_table(out_dir / "truth.parquet").to_pandas()
    last = truth["date"].max()
    truth = truth[truth["date"] <= last - pd.Timedelta(days=horizon)]
    labels = label_truth(truth, churn_dates(subs), horizon)
    scores = truth[f"p_churn_{horizon}"].to_numpy()
    return {
        "auc": auc(scores, labels),
        "rows": float(len(truth)),
        "churn_rate": float(labels.mean()),
        "mean_p": float(scores.mean()),
    }
