"""Behavioural clustering: standardised usage/billing metrics, k by silhouette, stable labels.

Each metric is log-transformed (log1p: MRR, seats and counts are heavy-tailed, and without it a
handful of large accounts form one cluster and everyone else another) and then standardised
against the population (z-scores; a constant metric becomes 0).
For every k in the range, scikit-learn's KMeans (n_init runs, seeded) is fitted and scored by
the silhouette coefficient (on a seeded sample of 5,000 accounts for larger books); the best k
wins (the smaller on a tie). Labels are renumbered by the
cluster's mean standardised MRR, highest first (then by the other metrics), so label 0 is the
same cluster whenever the data and seed are the same. A cluster's profile names the metrics whose
cluster mean is at least +0.5 SD ("high") or at most −0.5 SD ("low") from the population's,
on that transformed scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tenure.errors import InputError

CLUSTER_METRICS = (
    "mrr",
    "seats",
    "tenure_months",
    "events_30d",
    "tickets_90d",
    "failed_invoices_90d",
)
PROFILE_THRESHOLD = 0.5
SILHOUETTE_SAMPLE = 5000  # silhouette is O(n²): score a seeded sample of larger books


@dataclass(frozen=True)
class ClusterResult:
    """The chosen k, labels per account, profiles and the silhouette of every k tried."""

    k: int
    labels: dict[int, int]
    profiles: list[dict[str, Any]]
    silhouettes: dict[int, float] = field(default_factory=dict)


def standardise(matrix: np.ndarray) -> np.ndarray:
    """Return column z-scores (population SD); constant columns become zeros."""
    mean = matrix.mean(axis=0)
    sd = matrix.std(axis=0)
    sd[sd == 0] = 1.0
    return (matrix - mean) / sd


def describe(means: Mapping[str, float]) -> str:
    """Return a plain-language profile from a cluster's standardised means."""
    high = [m for m, v in means.items() if v >= PROFILE_THRESHOLD]
    low = [m for m, v in means.items() if v <= -PROFILE_THRESHOLD]
    parts = []
    if high:
        parts.append("high " + ", ".join(high))
    if low:
        parts.append("low " + ", ".join(low))
    return "; ".join(parts) + " vs the population" if parts else "close to the population"


def _fit(scaled: np.ndarray, k_min: int, k_max: int, seed: int) -> tuple[int, Any, dict]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    best: tuple[float, int, Any] | None = None
    scores = {}
    for k in range(k_min, min(k_max, len(scaled) - 1) + 1):
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(scaled)
        if len(set(model.labels_)) < 2:
            continue
        sample = SILHOUETTE_SAMPLE if len(scaled) > SILHOUETTE_SAMPLE else None
        score = silhouette_score(scaled, model.labels_, sample_size=sample, random_state=seed)
        scores[k] = float(score)
        if best is None or scores[k] > best[0] + 1e-12:
            best = (scores[k], k, model.labels_)
    if best is None:
        raise InputError("the accounts do not separate into clusters (too few distinct values)")
    return best[1], best[2], scores


def cluster_accounts(
    features: Mapping[int, Mapping[str, float]],
    *,
    metrics: Sequence[str] = CLUSTER_METRICS,
    k_min: int = 2,
    k_max: int = 8,
    seed: int = 0,
) -> ClusterResult:
    """Cluster accounts (account_id → metric values) and profile each cluster."""
    if k_min < 2 or k_max < k_min:
        raise InputError(f"--k-min must be ≥ 2 and ≤ --k-max, got {k_min}..{k_max}")
    ids = sorted(features)
    if len(ids) <= k_min:
        raise InputError(f"clustering needs more than {k_min} accounts, found {len(ids)}")
    raw = np.array([[float(features[a].get(m) or 0) for m in metrics] for a in ids])
    scaled = standardise(np.log1p(np.clip(raw, 0, None)))
    k, labels, scores = _fit(scaled, k_min, k_max, seed)
    means = {c: scaled[labels == c].mean(axis=0) for c in range(k)}
    order = sorted(means, key=lambda c: tuple(-means[c]))
    renumber = {old: new for new, old in enumerate(order)}
    profiles = []
    for new, old in enumerate(order):
        named = {m: round(float(v), 3) for m, v in zip(metrics, means[old], strict=True)}
        size = int((labels == old).sum())
        profiles.append(
            {"label": new, "accounts": size, "means": named, "profile": describe(named)}
        )
    assigned = {a: renumber[int(c)] for a, c in zip(ids, labels, strict=True)}
    return ClusterResult(k=k, labels=assigned, profiles=profiles, silhouettes=scores)
