"""Fixed-horizon tests: Welch t on absolute or relative lift (delta method), two-proportion z."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from tenure.experiments.stats.moments import Moments


@dataclass(frozen=True)
class LiftEstimate:
    """A difference between two arms: point estimate, its variance and Welch's degrees of freedom."""

    estimate: np.ndarray
    variance: np.ndarray
    dof: np.ndarray


@dataclass(frozen=True)
class TestOutcome:
    """A two-sided test: p-value and confidence interval of the estimate."""

    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def welch_dof(a: Moments, b: Moments) -> np.ndarray:
    """Return the Welch–Satterthwaite degrees of freedom of two independent means."""
    va, vb = a.variance / a.n, b.variance / b.n
    with np.errstate(divide="ignore", invalid="ignore"):
        return (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))


def lift(control: Moments, treatment: Moments, *, relative: bool) -> LiftEstimate:
    """Return treatment − control, or (treatment − control) / control with delta-method variance."""
    diff = treatment.mean - control.mean
    if relative:
        base = control.unadjusted_mean
        estimate = diff / base
        variance = treatment.variance / (base**2 * treatment.n) + control.variance * (
            treatment.unadjusted_mean**2
        ) / (base**4 * control.n)
    else:
        estimate = diff
        variance = treatment.variance / treatment.n + control.variance / control.n
    return LiftEstimate(estimate, variance, welch_dof(control, treatment))


def t_test(lift_estimate: LiftEstimate, alpha: float = 0.05) -> TestOutcome:
    """Return the two-sided Welch t-test of lift = 0 and its 1 − alpha confidence interval."""
    se = np.sqrt(lift_estimate.variance)
    t_stat = lift_estimate.estimate / se
    p_value = 2 * special.stdtr(lift_estimate.dof, -np.abs(t_stat))
    width = special.stdtrit(lift_estimate.dof, 1 - alpha / 2) * se
    return TestOutcome(p_value, lift_estimate.estimate - width, lift_estimate.estimate + width)


def two_proportion_z_test(
    successes_a: ArrayLike, n_a: ArrayLike, successes_b: ArrayLike, n_b: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Return (z, two-sided p) of the textbook pooled two-proportion z-test of p_b = p_a."""
    xa, na, xb, nb = (np.asarray(v, dtype=float) for v in (successes_a, n_a, successes_b, n_b))
    pooled = (xa + xb) / (na + nb)
    z = (xb / nb - xa / na) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    return z, 2 * special.ndtr(-np.abs(z))
