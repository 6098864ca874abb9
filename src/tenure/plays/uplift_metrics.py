"""Uplift evaluation on randomised data: Qini and uplift curves, their areas, uplift at k."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from tenure.experiments.stats.frequentist import lift, t_test
from tenure.experiments.stats.moments import mean_moments


@dataclass(frozen=True)
class UpliftCurves:
    """Cumulative counts along the ranking (best predicted uplift first), one point per cut."""

    n: np.ndarray  # units targeted so far
    n_treated: np.ndarray
    n_control: np.ndarray
    outcome_treated: np.ndarray  # Σ outcome among treated targeted so far
    outcome_control: np.ndarray


def _arrays(outcome: ArrayLike, treated: ArrayLike, score: ArrayLike):
    y = np.asarray(outcome, dtype=float)
    t = np.asarray(treated, dtype=bool)
    s = np.asarray(score, dtype=float)
    if not (len(y) == len(t) == len(s)):
        raise ValueError("outcome, treated and score must have the same length")
    return y, t, s


def cumulative(outcome: ArrayLike, treated: ArrayLike, score: ArrayLike) -> UpliftCurves:
    """Rank by score (descending; ties cut together) and accumulate counts per distinct score."""
    y, t, s = _arrays(outcome, treated, score)
    order = np.argsort(-s, kind="mergesort")
    y, t, s = y[order], t[order], s[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    n_t = np.cumsum(t)[last_of_tie]
    n_c = np.cumsum(~t)[last_of_tie]
    return UpliftCurves(
        n=last_of_tie + 1.0,
        n_treated=n_t.astype(float),
        n_control=n_c.astype(float),
        outcome_treated=np.cumsum(y * t)[last_of_tie],
        outcome_control=np.cumsum(y * ~t)[last_of_tie],
    )


def qini_curve(curves: UpliftCurves) -> tuple[np.ndarray, np.ndarray]:
    """Return (units targeted, Qini) with Q = Y_t − Y_c · N_t / N_c, starting at (0, 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(curves.n_control > 0, curves.n_treated / curves.n_control, 0.0)
    qini = curves.outcome_treated - curves.outcome_control * scale
    return np.r_[0.0, curves.n], np.r_[0.0, qini]


def uplift_curve(curves: UpliftCurves) -> tuple[np.ndarray, np.ndarray]:
    """Return (units targeted, U) with U = (Y_t/N_t − Y_c/N_c) · (N_t + N_c), from (0, 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_t = np.where(curves.n_treated > 0, curves.outcome_treated / curves.n_treated, 0.0)
        mean_c = np.where(curves.n_control > 0, curves.outcome_control / curves.n_control, 0.0)
    return np.r_[0.0, curves.n], np.r_[0.0, (mean_t - mean_c) * curves.n]


def _area_over_random(x: np.ndarray, curve: np.ndarray) -> float:
    """Return the area between a curve and the straight line from its origin to its end."""
    random_line = x / x[-1] * curve[-1]
    return float(np.trapezoid(curve - random_line, x))


def _perfect_score(outcome: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Return the ideal ranking of the observed data: treated responders first, control
    responders last (the bound used to normalise the Qini and uplift areas)."""
    return np.where(treated, outcome, -outcome)


def qini_coefficient(outcome: ArrayLike, treated: ArrayLike, score: ArrayLike) -> float:
    """Return the Qini area over random, divided by the ideal ranking's (1 = ideal, 0 = random)."""
    y, t, s = _arrays(outcome, treated, score)
    model = _area_over_random(*qini_curve(cumulative(y, t, s)))
    ideal = _area_over_random(*qini_curve(cumulative(y, t, _perfect_score(y, t))))
    return model / ideal if ideal else 0.0


def auuc(outcome: ArrayLike, treated: ArrayLike, score: ArrayLike) -> float:
    """Return the uplift-curve area over random, divided by the ideal ranking's."""
    y, t, s = _arrays(outcome, treated, score)
    model = _area_over_random(*uplift_curve(cumulative(y, t, s)))
    ideal = _area_over_random(*uplift_curve(cumulative(y, t, _perfect_score(y, t))))
    return model / ideal if ideal else 0.0


def uplift_at(outcome: ArrayLike, treated: ArrayLike, score: ArrayLike, share: float) -> float:
    """Return mean(treated) − mean(control) among the top share of units by score."""
    y, t, s = _arrays(outcome, treated, score)
    top = np.argsort(-s, kind="mergesort")[: max(1, int(np.ceil(share * len(s))))]
    y_top, t_top = y[top], t[top]
    if not t_top.any() or t_top.all():
        return float("nan")
    return float(y_top[t_top].mean() - y_top[~t_top].mean())


def average_effect(
    outcome: ArrayLike, treated: ArrayLike, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Return the difference in means (treated − control) and its Welch 1 − alpha interval."""
    y = np.asarray(outcome, dtype=float)
    t = np.asarray(treated, dtype=bool)
    arms = [mean_moments(len(v), v.sum(), (v * v).sum()) for v in (y[~t], y[t])]
    estimate = lift(arms[0], arms[1], relative=False)
    test = t_test(estimate, alpha)
    return float(estimate.estimate), float(test.ci_low), float(test.ci_high)
