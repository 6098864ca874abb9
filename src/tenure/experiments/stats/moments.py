"""Per-unit mean and variance of a metric in a variant, from its sufficient statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from tenure.experiments.schemas import MetricKind, MetricSummary


@dataclass(frozen=True)
class Moments:
    """What a comparison reads of one arm: units, (adjusted) mean, per-unit variance."""

    n: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    unadjusted_mean: np.ndarray


def _safe_divide(numerator: ArrayLike, denominator: ArrayLike) -> np.ndarray:
    """Return numerator / denominator, 0 where the denominator is 0."""
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den == 0, 0.0, num / np.where(den == 0, 1.0, den))


def sample_variance(n: ArrayLike, total: ArrayLike, squares: ArrayLike) -> np.ndarray:
    """Return the unbiased variance from n, Σx and Σx² (0 when n ≤ 1)."""
    n, total, squares = (np.asarray(v, dtype=float) for v in (n, total, squares))
    return np.where(n <= 1, 0.0, _safe_divide(squares - total * total / np.maximum(n, 1), n - 1))


def sample_covariance(n: ArrayLike, sum_x: ArrayLike, sum_y: ArrayLike, cross: ArrayLike):
    """Return the unbiased covariance from n, Σx, Σy and Σxy (0 when n ≤ 1)."""
    n, sum_x, sum_y, cross = (np.asarray(v, dtype=float) for v in (n, sum_x, sum_y, cross))
    return np.where(n <= 1, 0.0, _safe_divide(cross - sum_x * sum_y / np.maximum(n, 1), n - 1))


def binary_moments(n: ArrayLike, successes: ArrayLike) -> Moments:
    """Return the moments of a 0/1 outcome: p and p(1 − p)."""
    n = np.asarray(n, dtype=float)
    p = _safe_divide(successes, n)
    return Moments(n=n, mean=p, variance=p * (1 - p), unadjusted_mean=p)


def mean_moments(n: ArrayLike, total: ArrayLike, squares: ArrayLike) -> Moments:
    """Return the moments of a per-unit mean."""
    n = np.asarray(n, dtype=float)
    mean = _safe_divide(total, n)
    return Moments(
        n=n, mean=mean, variance=sample_variance(n, total, squares), unadjusted_mean=mean
    )


def ratio_moments(summary: MetricSummary) -> Moments:
    """Return the delta-method moments of Σ numerator / Σ denominator over units."""
    n = np.asarray(summary.n, dtype=float)
    num_mean = _safe_divide(summary.sum, n)
    den_mean = _safe_divide(summary.denominator_sum, n)
    num_var = sample_variance(n, summary.sum, summary.sum_squares)
    den_var = sample_variance(n, summary.denominator_sum, summary.denominator_sum_squares)
    cov = sample_covariance(n, summary.sum, summary.denominator_sum, summary.denominator_cross_sum)
    ratio = _safe_divide(summary.sum, summary.denominator_sum)
    variance = np.where(
        (den_mean == 0) | (n <= 1),
        0.0,
        _safe_divide(num_var, den_mean**2)
        - 2 * _safe_divide(cov * num_mean, den_mean**3)
        + _safe_divide(num_mean**2 * den_var, den_mean**4),
    )
    return Moments(n=n, mean=ratio, variance=variance, unadjusted_mean=ratio)


def moments_of(summary: MetricSummary, kind: MetricKind) -> Moments:
    """Return the unadjusted moments of one arm for a metric of the given kind."""
    kind = MetricKind(kind)
    if kind is MetricKind.BINARY:
        return binary_moments(summary.n, summary.sum)
    if kind is MetricKind.RATIO:
        return ratio_moments(summary)
    return mean_moments(summary.n, summary.sum, summary.sum_squares)
