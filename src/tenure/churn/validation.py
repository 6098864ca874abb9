"""Out-of-time validation metrics: ranking, probability quality, lift and calibration."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    roc_auc_score,
)

THRESHOLD_GRID = np.round(np.arange(0.01, 0.96, 0.01), 2)
ECE_BINS = 10
BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95  # family-wise, over the candidates compared on the same validation rows


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


def auc_by_rank(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Return the AUC of each row of p (samples, rows) against the labels y of the same shape."""
    ranks = rankdata(p, axis=-1)  # ties share the mean rank, so a constant scores 0.5
    positives = y.sum(axis=-1)
    negatives = y.shape[-1] - positives
    rank_sum = (ranks * y).sum(axis=-1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def bootstrap_auc_interval(
    y: np.ndarray,
    p: np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Return the percentile bootstrap 95 % interval of the AUC (churners and stayers resampled apart)."""
    y, p = np.asarray(y, int), np.asarray(p, float)
    churners, stayers = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if not len(churners) or not len(stayers):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picks = np.hstack(
        [
            rng.choice(churners, (samples, len(churners))),
            rng.choice(stayers, (samples, len(stayers))),
        ]
    )
    aucs = auc_by_rank(y[picks], p[picks])
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class SkillCheck:
    """Whether a model ranks churners above stayers out of time better than chance."""

    auc: float
    auc_ci_low: float
    auc_ci_high: float
    confidence: float
    distinct_predictions: int
    skill: bool
    verdict: str
    would_help: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the check as JSON-able values."""
        return {**asdict(self), "would_help": list(self.would_help)}


def skill_check(
    y: np.ndarray, p: np.ndarray, *, training_days: int, candidates: int = 1
) -> SkillCheck:
    """Return the skill check: the AUC's 95 % interval excludes 0.5 and predictions vary.

    When the model was chosen among `candidates` by AUC on these same rows, each interval is
    widened (Bonferroni: 1 − 0.05 / candidates) so the 95 % holds for the choice as a whole;
    the better of two models compared on noise clears a plain 95 % interval about twice as often.
    """
    y, p = np.asarray(y, int), np.asarray(p, float)
    both = 0 < y.sum() < len(y)
    auc = float(roc_auc_score(y, p)) if both else float("nan")
    confidence = 1.0 - (1.0 - CONFIDENCE) / candidates
    low, high = bootstrap_auc_interval(y, p, confidence=confidence)
    distinct = int(np.unique(np.round(p, 12)).size)
    skill = distinct > 1 and low > 0.5
    if skill:
        verdict = (
            f"skill shown: out-of-time AUC {auc:.3f} ({confidence:.1%} interval "
            f"{low:.3f}–{high:.3f})"
        )
    elif distinct <= 1:
        verdict = "not enough signal yet: the model gives every account the same probability"
    else:
        verdict = (
            f"not enough signal yet: out-of-time AUC {auc:.3f} with a {confidence:.1%} interval "
            f"{low:.3f}–{high:.3f} that does not exclude 0.5 (chance)"
        )
    helps = advice(y, training_days)
    return SkillCheck(auc, low, high, confidence, distinct, skill, verdict, helps)


def advice(y: np.ndarray, training_days: int) -> tuple[str, ...]:
    """Return what would give the model more signal: history, accounts, churn events."""
    churners = int(np.sum(y))
    return (
        f"more history: {training_days} training snapshots were available; "
        "each further month of events adds one",
        f"more accounts: the validation day held {len(y)} accounts",
        f"more events: the validation day held {churners} churners; "
        "import usage, billing and support events so churners look different before they leave",
    )
