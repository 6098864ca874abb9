"""Bayesian comparison: a Gaussian prior on the lift, its posterior, chance to win, expected loss.

The data enter through the same normal approximation of the lift as the frequentist tests
(delta method on the relative scale); with a proper prior N(m, v) the posterior is the precision-
weighted combination, with an improper (flat) prior it is the normal likelihood itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from tenure.experiments.stats.frequentist import LiftEstimate


@dataclass(frozen=True)
class GaussianPrior:
    """Prior belief about the relative lift: N(mean, variance); flat when not proper."""

    mean: float = 0.0
    variance: float = 0.3**2
    proper: bool = True


FLAT_PRIOR = GaussianPrior(proper=False)


@dataclass(frozen=True)
class Posterior:
    """Normal posterior of the lift and what a decision reads of it."""

    mean: np.ndarray
    sd: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    chance_to_win: np.ndarray
    expected_loss: np.ndarray


def _normal_posterior(data: LiftEstimate, prior: GaussianPrior) -> tuple[np.ndarray, np.ndarray]:
    """Return the posterior mean and sd of the lift."""
    if not prior.proper:
        return np.asarray(data.estimate, dtype=float), np.sqrt(data.variance)
    precision = 1 / data.variance + 1 / prior.variance
    mean = (data.estimate / data.variance + prior.mean / prior.variance) / precision
    return mean, np.sqrt(1 / precision)


def expected_loss(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Return E[max(0, −lift)]: what shipping the treatment costs if the control is better."""
    z = mean / sd
    return sd * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi) - mean * special.ndtr(-z)


def posterior(
    data: LiftEstimate, prior: GaussianPrior, alpha: float = 0.05, *, lower_is_better: bool = False
) -> Posterior:
    """Return the posterior of the lift, its 1 − alpha credible interval, the chance that the
    treatment is better (lift > 0, or < 0 when lower is better) and the loss of shipping it."""
    mean, sd = (np.asarray(v, dtype=float) for v in _normal_posterior(data, prior))
    width = sd * special.ndtri(1 - alpha / 2)
    better = -mean if lower_is_better else mean
    return Posterior(
        mean=mean,
        sd=sd,
        ci_low=mean - width,
        ci_high=mean + width,
        chance_to_win=special.ndtr(better / sd),
        expected_loss=expected_loss(better, sd),
    )
