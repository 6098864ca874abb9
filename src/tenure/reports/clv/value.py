"""Fit both models on a summary and value each customer: expected purchases × expected spend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tenure.reports.clv import bgnbd, gamma_gamma
from tenure.reports.clv.data import UNIT_DAYS, Summary

STEP_DAYS = (
    30.0  # discounting steps: purchases expected in each 30-day slice, discounted at its end
)


@dataclass(frozen=True)
class ClvFit:
    """BG/NBD and (when amounts are known) Gamma-Gamma fits on one summary."""

    summary: Summary
    purchases: bgnbd.BgNbdFit
    spend: gamma_gamma.GammaGammaFit | None


def fit_clv(summary: Summary) -> ClvFit:
    """Fit BG/NBD, and Gamma-Gamma when the summary has spend for repeat customers."""
    purchases = bgnbd.fit(summary)
    money = summary.monetary_value
    spend = None
    if money is not None and np.any((summary.frequency > 0) & (np.nan_to_num(money) > 0)):
        spend = gamma_gamma.fit(summary.frequency, np.nan_to_num(money))
    return ClvFit(summary, purchases, spend)


def expected_purchases_days(fitted: ClvFit, days: float) -> np.ndarray:
    """Return each customer's expected purchases in the next DAYS days."""
    s = fitted.summary
    horizon = days / UNIT_DAYS[s.unit]
    return bgnbd.expected_purchases(fitted.purchases, horizon, s.frequency, s.recency, s.T)


def customer_values(fitted: ClvFit, days: float, annual_discount: float = 0.0) -> np.ndarray:
    """Return each customer's CLV over DAYS: purchases per 30-day step × spend, discounted."""
    s = fitted.summary
    if fitted.spend is None:
        return np.full(s.customers, np.nan)
    spend = gamma_gamma.expected_spend(fitted.spend, s.frequency, s.monetary_value)
    edges = np.append(np.arange(0.0, days, STEP_DAYS), days)
    cumulative = [expected_purchases_days(fitted, edge) for edge in edges[1:]]
    steps = np.diff(np.vstack([np.zeros(s.customers), *cumulative]), axis=0)
    factors = (1.0 + annual_discount) ** (-edges[1:] / 365.25)
    return spend * (factors @ steps)


def report(fitted: ClvFit, days: int | None, annual_discount: float = 0.0) -> dict[str, Any]:
    """Return the JSON-ready fit: parameters, customers, log-likelihood, predictions."""
    p = fitted.purchases
    out: dict[str, Any] = {"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b}
    if fitted.spend is not None:
        g = fitted.spend
        out |= {"p": g.p, "q": g.q, "gamma": g.gamma}
    out |= {
        "customers": fitted.summary.customers,
        "log_likelihood": p.log_likelihood,
        "time_unit": fitted.summary.unit,
        "converged": p.converged and (fitted.spend is None or fitted.spend.converged),
    }
    if fitted.spend is not None:
        out["gamma_gamma_log_likelihood"] = fitted.spend.log_likelihood
    if days is not None:
        out |= _predictions(fitted, days, annual_discount)
    return out


def _predictions(fitted: ClvFit, days: int, annual_discount: float) -> dict[str, Any]:
    """Return per-customer expected purchases and CLV over DAYS, keyed by customer id."""
    s = fitted.summary
    purchases = expected_purchases_days(fitted, days)
    values = customer_values(fitted, days, annual_discount)
    ids = s.ids or [str(i) for i in range(s.customers)]
    return {
        "predict_days": days,
        "discount_rate": annual_discount,
        "expected_purchases": dict(zip(ids, map(float, purchases), strict=True)),
        "clv": {i: None if np.isnan(v) else float(v) for i, v in zip(ids, values, strict=True)},
    }
