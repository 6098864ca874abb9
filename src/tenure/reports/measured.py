"""Measured retention value, shared by plays, journeys, loyalty and the ROI report (pure).

Every programme Tenure runs is judged the same way: an outcome per account in the treated arm
and in the holdout (retained 0/1, or the share of starting MRR kept), their difference with
Welch's 95 % interval (the experiments engine's `lift` and `t_test`), MRR kept = difference ×
the treated arm's starting MRR, and value = MRR kept × expected remaining lifetime in months.
The lifetime comes from the holdout's own survival over the horizon under a constant hazard:
monthly hazard h = −ln(S) / (horizon / 30.4375 days), lifetime = 1 / h (capped at 120 months).
ROI = (value − cost) / cost. The 12-month projection is MRR kept × Σ_{m=1..12} exp(−h·m): the
kept MRR decays as the holdout cohort's survival does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tenure.experiments.stats.frequentist import lift, t_test
from tenure.experiments.stats.moments import mean_moments

MIN_PER_ARM = 5
MAX_LIFETIME_MONTHS = 120.0
DAYS_PER_MONTH = 30.4375
PROJECTION_MONTHS = 12


@dataclass(frozen=True)
class ArmDifference:
    """Treated − holdout mean outcome: estimate, Welch 95 % interval and its variance."""

    estimate: float
    ci_low: float
    ci_high: float
    variance: float


def unmeasured_reason(treated: np.ndarray, holdout: np.ndarray) -> str | None:
    """Return why two arms give no interval: too few accounts, or an arm without variation.

    An arm whose outcomes are all equal (say 5 of 5 holdout accounts retained) has a sample
    variance of 0, and Welch's interval would then rest on the other arm alone: too narrow.
    """
    if min(len(treated), len(holdout)) < MIN_PER_ARM:
        return f"fewer than {MIN_PER_ARM} accounts judged in an arm"
    for name, arm in (("treated", treated), ("holdout", holdout)):
        if np.ptp(arm) == 0:
            return f"every {name} outcome is the same ({float(arm[0]):g}): no interval yet"
    return None


def arm_difference(
    treated: np.ndarray,
    holdout: np.ndarray,
    clusters: tuple[np.ndarray, np.ndarray] | None = None,
) -> ArmDifference | None:
    """Return treated − holdout with Welch's interval (None when `unmeasured_reason` says why).

    ``clusters`` (the account of each treated and each holdout outcome): when an account has
    several outcomes, they are not independent, and the interval is cluster-robust instead.
    """
    if unmeasured_reason(treated, holdout) is not None:
        return None
    if clusters is not None:
        ids = np.concatenate([np.asarray(c) for c in clusters])
        if len(np.unique(ids)) < len(ids):
            return clustered_difference(treated, holdout, ids)
    moments = [mean_moments(len(y), y.sum(), (y * y).sum()) for y in (holdout, treated)]
    estimate = lift(moments[0], moments[1], relative=False)
    test = t_test(estimate)
    values = (estimate.estimate, test.ci_low, test.ci_high, estimate.variance)
    low, high = (float(v) if math.isfinite(float(v)) else float(estimate.estimate)
                 for v in values[1:3])  # fmt: skip
    return ArmDifference(float(values[0]), low, high, float(values[3]))


def clustered_difference(
    treated: np.ndarray, holdout: np.ndarray, ids: np.ndarray
) -> ArmDifference:
    """Return treated − holdout with a cluster-robust (CR1) 95 % interval, t with G − 1 df.

    The difference is Σ wᵢ yᵢ (wᵢ = 1/n_t treated, −1/n_h holdout); its variance sums, per
    cluster, the squared sum of wᵢ (yᵢ − arm mean), times G / (G − 1). An account in both arms
    (treated once, held out later) is one cluster.
    """
    from scipy.stats import t as student

    y_t, y_h = np.asarray(treated, float), np.asarray(holdout, float)
    estimate = float(y_t.mean() - y_h.mean())
    psi = np.concatenate([(y_t - y_t.mean()) / len(y_t), -(y_h - y_h.mean()) / len(y_h)])
    _, group = np.unique(ids, return_inverse=True)
    sums = np.bincount(group.ravel(), weights=psi)
    g = len(sums)
    variance = float((sums**2).sum() * g / (g - 1))
    half = float(student.ppf(0.975, g - 1)) * math.sqrt(variance)
    return ArmDifference(estimate, estimate - half, estimate + half, variance)


def monthly_hazard(holdout_retained: float, horizon_days: int) -> float | None:
    """Return the constant monthly hazard implied by the holdout's survival over the horizon."""
    if holdout_retained <= 0 or horizon_days <= 0:
        return None
    return max(0.0, -math.log(min(1.0, holdout_retained)) / (horizon_days / DAYS_PER_MONTH))


def lifetime_months(holdout_retained: float, horizon_days: int) -> float | None:
    """Return the expected remaining lifetime implied by the holdout's survival over the horizon."""
    hazard = monthly_hazard(holdout_retained, horizon_days)
    if hazard is None:
        return None
    return MAX_LIFETIME_MONTHS if hazard <= 0 else min(MAX_LIFETIME_MONTHS, 1 / hazard)


def roi(mrr_kept: float, lifetime: float | None, cost: float) -> float | None:
    """Return (MRR kept × lifetime − cost) / cost, or None without a lifetime or a cost."""
    if lifetime is None or cost <= 0:
        return None
    return (mrr_kept * lifetime - cost) / cost


def projected_value(
    mrr_kept: float, lifetime: float | None, months: int = PROJECTION_MONTHS
) -> float | None:
    """Return the kept MRR summed over the next months as the cohort's survival decays it."""
    if lifetime is None:
        return None
    hazard = 1 / lifetime
    return float(mrr_kept * sum(math.exp(-hazard * m) for m in range(1, months + 1)))
