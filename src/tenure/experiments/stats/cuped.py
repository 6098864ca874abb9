"""CUPED: regression adjustment of a metric with its pre-exposure covariate.

Deng, Xu, Kohavi & Walker (2013), "Improving the sensitivity of online controlled experiments
by utilizing pre-experiment data". θ = cov(Y, X) / var(X) is estimated once per comparison on
the pooled control + treatment units (so it does not depend on the treatment), and each arm's
mean becomes Ȳ − θ·X̄ with per-unit variance var(Y) + θ²·var(X) − 2θ·cov(Y, X). Lifts keep the
unadjusted control mean as their denominator.
"""

from __future__ import annotations

import numpy as np

from tenure.experiments.schemas import MetricKind, MetricSummary
from tenure.experiments.stats.moments import Moments, moments_of, sample_covariance, sample_variance


def has_covariate(summary: MetricSummary) -> bool:
    """Return whether the summary carries the pre-period sums CUPED needs."""
    return None not in (summary.pre_sum, summary.pre_sum_squares, summary.pre_cross_sum)


def _pooled(a: MetricSummary, b: MetricSummary) -> MetricSummary:
    """Return the summary of control and treatment units taken together."""
    return MetricSummary(
        n=a.n + b.n,
        sum=a.sum + b.sum,
        sum_squares=a.sum_squares + b.sum_squares,
        pre_sum=a.pre_sum + b.pre_sum,
        pre_sum_squares=a.pre_sum_squares + b.pre_sum_squares,
        pre_cross_sum=a.pre_cross_sum + b.pre_cross_sum,
    )


def cuped_theta(control: MetricSummary, treatment: MetricSummary, kind: MetricKind) -> float:
    """Return the pooled θ of a comparison; 0 when the metric or the covariate is constant."""
    pooled = _pooled(control, treatment)
    pre_var = float(sample_variance(pooled.n, pooled.pre_sum, pooled.pre_sum_squares))
    post_var = float(moments_of(pooled, kind).variance)
    if pre_var <= 0 or post_var <= 0:
        return 0.0
    cov = float(sample_covariance(pooled.n, pooled.sum, pooled.pre_sum, pooled.pre_cross_sum))
    return cov / pre_var


def adjusted_moments(summary: MetricSummary, kind: MetricKind, theta: float) -> Moments:
    """Return one arm's CUPED-adjusted moments for a given θ."""
    plain = moments_of(summary, kind)
    if theta == 0:
        return plain
    n = summary.n
    pre_mean = summary.pre_sum / n if n else 0.0
    pre_var = sample_variance(n, summary.pre_sum, summary.pre_sum_squares)
    cov = sample_covariance(n, summary.sum, summary.pre_sum, summary.pre_cross_sum)
    variance = plain.variance + theta**2 * pre_var - 2 * theta * cov
    return Moments(
        n=plain.n,
        mean=plain.mean - theta * np.asarray(pre_mean, dtype=float),
        variance=np.asarray(variance, dtype=float),
        unadjusted_mean=plain.unadjusted_mean,
    )
