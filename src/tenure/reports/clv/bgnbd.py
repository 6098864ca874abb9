"""BG/NBD (Fader, Hardie & Lee 2005): repeat purchases while alive, by maximum likelihood.

Each customer buys at a Poisson rate λ while alive and may drop out after any purchase with
probability p; λ ~ Gamma(r, α) and p ~ Beta(a, b) across customers. The data per customer are
`frequency` x (repeat purchases), `recency` t_x (time of the last one since the first) and `T`
(time since the first purchase), all in one time unit. The log-likelihood, its gradient and the
conditional expectation are written here from the paper's formulas, in log space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from tenure.reports.clv.data import Summary

NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted BG/NBD parameters and the maximised log-likelihood."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool


@dataclass(frozen=True)
class _Data:
    """Customers as arrays, with the distinct frequencies for per-x special functions."""

    x: np.ndarray
    t_x: np.ndarray
    big_t: np.ndarray
    weights: np.ndarray
    levels: np.ndarray  # distinct x values
    level: np.ndarray  # index of each customer's x in levels

    @classmethod
    def of(cls, x, t_x, big_t, weights=None) -> _Data:
        """Return the arrays as floats, with the distinct frequencies indexed."""
        x, t_x, big_t = (np.asarray(v, float) for v in (x, t_x, big_t))
        weights = np.ones_like(x) if weights is None else np.asarray(weights, float)
        levels, level = np.unique(x, return_inverse=True)
        return cls(x, t_x, big_t, weights, levels, level)


def _terms(params: np.ndarray, data: _Data):
    """Return the per-customer pieces of the log-likelihood shared by value and gradient."""
    r, alpha, a, b = params
    k = data.levels  # special functions of x are evaluated once per distinct x
    head_k = (
        special.gammaln(r + k)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.gammaln(b + k)
        - special.gammaln(b)
        + special.gammaln(a + b)
        - special.gammaln(a + b + k)
    )
    drop_k = np.where(k > 0, np.log(a) - np.log(np.maximum(b + k - 1, 1e-300)), -np.inf)
    rx = r + data.x
    alive = -rx * np.log(alpha + data.big_t)
    dropped = drop_k[data.level] - rx * np.log(alpha + data.t_x)
    return head_k[data.level], alive, dropped, np.logaddexp(alive, dropped)


def log_likelihood(params, x, t_x, big_t, weights=None) -> float:
    """Return the BG/NBD log-likelihood of (r, α, a, b) over the customers."""
    data = _Data.of(x, t_x, big_t, weights)
    head, _, _, tail = _terms(np.asarray(params, float), data)
    return float((head + tail) @ data.weights)


def _gradient(params: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
    """Return the log-likelihood and its gradient in (r, α, a, b)."""
    r, alpha, a, b = params
    head, alive, dropped, tail = _terms(params, data)
    w = data.weights
    w_alive, w_dropped = np.exp(alive - tail) * w, np.exp(dropped - tail) * w
    k, n_k = data.levels, np.bincount(data.level, weights=w)
    drop_k = np.bincount(data.level, weights=w_dropped, minlength=len(k))
    shared = special.digamma(a + b) - special.digamma(a + b + k)
    d_r = n_k @ (special.digamma(r + k) - special.digamma(r) + np.log(alpha))
    d_r -= w_alive @ np.log(alpha + data.big_t) + w_dropped @ np.log(alpha + data.t_x)
    rx = r + data.x
    d_alpha = r / alpha * w.sum() - (w_alive @ (rx / (alpha + data.big_t)))
    d_alpha -= w_dropped @ (rx / (alpha + data.t_x))
    d_a = n_k @ shared + drop_k.sum() / a
    d_b = n_k @ (shared + special.digamma(b + k) - special.digamma(b))
    d_b -= drop_k[k > 0] @ (1.0 / (b + k[k > 0] - 1))
    grad = np.array([d_r, d_alpha, d_a, d_b])
    return float((head + tail) @ w), grad


def _objective(log_params: np.ndarray, data: _Data, scale: float):
    """Return minus the scaled log-likelihood and its gradient in log-parameters."""
    params = np.exp(log_params)
    value, grad = _gradient(params, data)
    return -value / scale, -grad * params / scale


def fit(summary: Summary, start: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)) -> BgNbdFit:
    """Fit (r, α, a, b) by maximum likelihood on the log scale with the analytic gradient."""
    data = _Data.of(*summary.grouped())
    scale = float(data.weights.sum())
    result = optimize.minimize(
        _objective,
        np.log(np.asarray(start, float)),
        args=(data, scale),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-12.0, 12.0)] * 4,
        options={"maxiter": 1000, "gtol": 1e-9, "ftol": 1e-13},
    )
    r, alpha, a, b = np.exp(result.x)
    value = float(-result.fun * scale)
    return BgNbdFit(float(r), float(alpha), float(a), float(b), value, bool(result.success))


def expected_purchases(fitted: BgNbdFit, t: float, x, t_x, big_t) -> np.ndarray:
    """Return each customer's expected purchases in the next t time units (FHL eq. 10)."""
    r, alpha, a, b = fitted.r, fitted.alpha, fitted.a, fitted.b
    x, t_x, big_t = (np.asarray(v, float) for v in (x, t_x, big_t))
    rx = r + x
    if abs(a - 1.0) < 1e-9:
        a = 1.0 + 1e-9  # the closed form has a removable singularity at a = 1
    hyp = special.hyp2f1(rx, b + x, a + b + x - 1, t / (alpha + big_t + t))
    growth = 1.0 - np.exp(rx * np.log((alpha + big_t) / (alpha + big_t + t))) * hyp
    numerator = (a + b + x - 1) / (a - 1) * growth
    odds = np.zeros_like(x)
    repeat = x > 0
    odds[repeat] = np.exp(
        np.log(a)
        - np.log(b + x[repeat] - 1)
        + rx[repeat] * np.log((alpha + big_t[repeat]) / (alpha + t_x[repeat]))
    )
    return numerator / (1.0 + odds)


def probability_alive(fitted: BgNbdFit, x, t_x, big_t) -> np.ndarray:
    """Return each customer's probability of being alive at T."""
    r, alpha, a, b = fitted.r, fitted.alpha, fitted.a, fitted.b
    x, t_x, big_t = (np.asarray(v, float) for v in (x, t_x, big_t))
    log_odds = np.full_like(x, -np.inf)
    repeat = x > 0
    log_odds[repeat] = (
        np.log(a)
        - np.log(b + x[repeat] - 1)
        + (r + x[repeat]) * np.log((alpha + big_t[repeat]) / (alpha + t_x[repeat]))
    )
    return np.exp(-np.logaddexp(0.0, log_odds))
