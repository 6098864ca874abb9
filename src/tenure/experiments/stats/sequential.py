"""Always-valid inference: asymptotic confidence sequences that may be looked at every day.

Method: the two-sided asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy &
Ramdas (2023), "Time-uniform central limit theory and asymptotic confidence sequences"
(arXiv:2103.06476), eq. 9, built on the normal-mixture boundary of Howard, Ramdas, McAuliffe &
Sekhon (2021). The mixture width ρ is tuned to be tightest at `tuning` total units (eq. 161), and
the always-valid p-value is the reciprocal of the mixture e-value (eq. 155) — the same choice
GrowthBook's gbstats makes, so results agree with it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from tenure.experiments.stats.frequentist import LiftEstimate, TestOutcome

DEFAULT_TUNING = 5000.0


def mixture_rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """Return the normal-mixture width ρ that makes the sequence tightest at `tuning` units."""
    log_alpha = np.log(alpha)
    return float(np.sqrt((-2 * log_alpha + np.log(-2 * log_alpha + 1)) / tuning))


def confidence_sequence(
    lift_estimate: LiftEstimate,
    total_units: ArrayLike,
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
) -> TestOutcome:
    """Return the always-valid p-value and the confidence-sequence interval at this look."""
    n = np.asarray(total_units, dtype=float)
    rho2 = mixture_rho(alpha, tuning) ** 2
    unit_variance = lift_estimate.variance * n
    width = np.sqrt(unit_variance) * np.sqrt(
        2 * (n * rho2 + 1) * np.log(np.sqrt(n * rho2 + 1) / alpha) / (n**2 * rho2)
    )
    scaled = lift_estimate.estimate**2 * n / lift_estimate.variance
    growth = n * rho2 + 1
    log_e_value = rho2 * scaled / (2 * growth) - 0.5 * np.log(growth)
    p_value = np.minimum(np.exp(-log_e_value), 1.0)
    return TestOutcome(p_value, lift_estimate.estimate - width, lift_estimate.estimate + width)
