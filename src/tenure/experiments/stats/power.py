"""Power, minimum detectable effect and sample size of a two-arm, two-sided comparison.

Normal approximation with equal arms. For proportions the sample size uses the classic formula
with the pooled variance under the null and the unpooled one under the alternative (Fleiss,
Levin & Paik, "Statistical Methods for Rates and Proportions", 3rd ed., §4.2, without continuity
correction); for means, n = 2σ²(z₁₋α/₂ + z₁₋β)² / δ² per arm.
"""

from __future__ import annotations

import math

from scipy import special


def _z(alpha: float, power: float) -> tuple[float, float]:
    """Return the two-sided critical value and the power quantile."""
    return float(special.ndtri(1 - alpha / 2)), float(special.ndtri(power))


def _units_proportions(baseline: float, treatment: float, alpha: float, power: float) -> float:
    """Return the (fractional) units per arm of the Fleiss formula."""
    z_alpha, z_beta = _z(alpha, power)
    pooled = (baseline + treatment) / 2
    spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(
        baseline * (1 - baseline) + treatment * (1 - treatment)
    )
    return spread**2 / (treatment - baseline) ** 2


def sample_size_proportions(
    baseline: float, treatment: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Return the units per arm to detect baseline → treatment with the given power."""
    return math.ceil(_units_proportions(baseline, treatment, alpha, power))


def sample_size_means(
    difference: float, sd: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Return the units per arm to detect an absolute difference of means with sd per unit."""
    z_alpha, z_beta = _z(alpha, power)
    return math.ceil(2 * (sd * (z_alpha + z_beta) / difference) ** 2)


def power_means(difference: float, sd: float, n_per_arm: float, *, alpha: float = 0.05) -> float:
    """Return the power of a two-sided z-test of means for a given true difference."""
    z_alpha = float(special.ndtri(1 - alpha / 2))
    shift = abs(difference) / (sd * math.sqrt(2 / n_per_arm))
    return float(special.ndtr(shift - z_alpha) + special.ndtr(-z_alpha - shift))


def minimum_detectable_effect(
    sd: float, n_per_arm: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Return the smallest absolute difference detected with the given power (z-approximation)."""
    z_alpha, z_beta = _z(alpha, power)
    return (z_alpha + z_beta) * sd * math.sqrt(2 / n_per_arm)


def minimum_detectable_lift_proportions(
    baseline: float, n_per_arm: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Return the smallest relative lift (upwards) of a proportion that the Fleiss formula
    detects with n_per_arm units; inverts sample_size_proportions."""
    high = 1 - 1e-12
    if _units_proportions(baseline, high, alpha, power) > n_per_arm:
        raise ValueError("no lift of this proportion is detectable with so few units")
    from scipy import optimize  # only the MDE solves an equation

    treatment = optimize.brentq(
        lambda p: _units_proportions(baseline, p, alpha, power) - n_per_arm,
        baseline + 1e-12,
        high,
    )
    return (treatment - baseline) / baseline
