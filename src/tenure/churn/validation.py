"""Out-of-time validation metrics: ranking, probability quality, lift and calibration."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    roc_auc_score,
)

THRESHOLD_GRID = np.round(np.arange(0.01, 0.96, 0.01), 2)
ECE_BINS = 10


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Return ECE: the row-weighted mean |observed rate − mean probability| over equal-width bins."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(y))


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    """Return the churn rate among the 10 % highest scores divided by the overall churn rate."""
    y = np.asarray(y, float)
    k = max(1, int(np.ceil(0.1 * len(y))))
    top = np.argsort(-np.asarray(p), kind="stable")[:k]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Return mean probability vs observed churn rate per equal-count bin of the scores."""
    order = np.argsort(np.asarray(p), kind="stable")
    out = []
    for chunk in np.array_split(order, min(bins, len(order))):
        if len(chunk):
            out.append(
                {
                    "mean_probability": float(np.mean(p[chunk])),
                    "observed_rate": float(np.mean(y[chunk])),
                    "rows": len(chunk),
                }
            )
    return out


def gains_curve(y: np.ndarray, p: np.ndarray, steps: int = 10) -> list[dict[str, float]]:
    """Return the share of churners captured by the top 10 %, 20 %, … of accounts by score."""
    y = np.asarray(y, float)
    order = np.argsort(-np.asarray(p), kind="stable")
    positives = max(y.sum(), 1.0)
    out = []
    for step in range(1, steps + 1):
        k = int(np.ceil(step / steps * len(y)))
        captured = y[order[:k]].sum() / positives
        out.append(
            {
                "share_contacted": step / steps,
                "share_of_churners": float(captured),
                "lift": float(captured / (step / steps)),
            }
        )
    return out


def choose_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Return the grid threshold that maximises F1 (ties: the lowest)."""
    scores = [f1_score(y, (p >= t).astype(int), zero_division=0.0) for t in THRESHOLD_GRID]
    return float(THRESHOLD_GRID[int(np.argmax(scores))])


def classification_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Return AUC, PR-AUC, Brier, accuracy, F1, top-decile lift and ECE of probabilities p."""
    y = np.asarray(y, int)
    p = np.asarray(p, float)
    predicted = (p >= threshold).astype(int)
    both = 0 < y.sum() < len(y)
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "accuracy": float(accuracy_score(y, predicted)),
        "f1": float(f1_score(y, predicted, zero_division=0.0)),
        "top_decile_lift": top_decile_lift(y, p),
        "ece": expected_calibration_error(y, p),
        "threshold": float(threshold),
        "rows": len(y),
        "churn_rate": float(y.mean()) if len(y) else float("nan"),
    }
