"""Gamma-Gamma spend model (Fader & Hardie 2013 note), fitted on repeat customers' mean spend.

A customer's spend per purchase has mean 1/ν-scaled Gamma(p, ν) noise, and ν ~ Gamma(q, γ) across
customers; the observed mean spend m_x over x repeat purchases then has a closed-form density.
Spend is assumed independent of purchase frequency (check it before relying on the CLV).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma parameters and the maximised log-likelihood."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    converged: bool


def _value_and_gradient(params: np.ndarray, x: np.ndarray, m: np.ndarray):
    """Return the log-likelihood of (p, q, γ) over customers with x > 0 and its gradient."""
    p, q, gamma = params
    px = p * x
    log_total = np.log(gamma + m * x)
    each = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_total
    )
    psi_all = special.digamma(px + q)
    d_p = x * (psi_all - special.digamma(px) + np.log(m) + np.log(x) - log_total)
    d_q = psi_all - special.digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + m * x)
    return float(each.sum()), np.array([d_p.sum(), d_q.sum(), d_gamma.sum()])


def log_likelihood(params, x, m) -> float:
    """Return the Gamma-Gamma log-likelihood of (p, q, γ)."""
    return _value_and_gradient(np.asarray(params, float), x, m)[0]


def _objective(log_params: np.ndarray, x, m, scale: float):
    """Return minus the scaled log-likelihood and its gradient in log-parameters."""
    params = np.exp(log_params)
    value, grad = _value_and_gradient(params, x, m)
    return -value / scale, -grad * params / scale


def fit(frequency, monetary_value) -> GammaGammaFit:
    """Fit (p, q, γ) by maximum likelihood on customers with repeat purchases and spend > 0."""
    x = np.asarray(frequency, float)
    m = np.asarray(monetary_value, float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    start = np.log([1.0, 1.0, max(float(np.mean(m)), 1e-3)])
    result = optimize.minimize(
        _objective,
        start,
        args=(x, m, float(len(x))),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-12.0, 15.0)] * 3,
        options={"maxiter": 1000, "gtol": 1e-10, "ftol": 1e-14},
    )
    p, q, gamma = np.exp(result.x)
    value = log_likelihood(np.exp(result.x), x, m)
    return GammaGammaFit(float(p), float(q), float(gamma), value, bool(result.success))


def expected_spend(fitted: GammaGammaFit, frequency, monetary_value) -> np.ndarray:
    """Return each customer's expected spend per purchase (population mean when x = 0)."""
    x = np.asarray(frequency, float)
    m = np.nan_to_num(np.asarray(monetary_value, float))
    p, q, gamma = fitted.p, fitted.q, fitted.gamma
    if q <= 1:
        raise ValueError("Gamma-Gamma q ≤ 1: the mean spend is infinite")
    return p * (gamma + m * x) / (p * x + q - 1)
