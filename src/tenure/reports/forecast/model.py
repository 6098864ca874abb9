"""Forecast by simulation from parts: retention rates of the book and new MRR through ETS.

Each simulated path starts from the last month-end MRR and customers. Per future month it
draws one past month (of a bootstrap resample, per path, of the last RATE_WINDOW) and applies
that month's MRR churn, contraction and expansion rates and reactivation to the MRR carried
over; churned customers are Binomial(customers, that month's logo churn rate); it adds that
month's reactivated customers and Poisson new customers at the path's resampled mean, times
last year's signup index for the calendar month once there are 24 months. New MRR is simulated
from an ETS model (statsmodels; additive errors, damped additive trend, a 12-month season where
AICc prefers it) of the new-MRR series, with bootstrapped residuals. Drawing whole months keeps
the rates' correlation; the ETS simulation carries the new-business uncertainty. (New customers
as simulated new MRR ÷ new-customer ARPA lost in the backtest: deal sizes are too lumpy.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from tenure.reports.forecast.history import History

RATE_WINDOW = 12
PATHS = 2000
MIN_MONTHS = 6
SEASONAL_MONTHS = 24  # two full years before the ETS model gets a 12-month season


@dataclass(frozen=True)
class Paths:
    """Simulated future months: arrays of shape (paths, horizon)."""

    mrr: np.ndarray
    customers: np.ndarray
    logo_churn: np.ndarray


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Return numerator / denominator with 0 where the denominator is 0."""
    out = np.zeros_like(numerator, dtype=float)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _ets(y: np.ndarray, *, seasonal: bool):
    """Return an ETS fit: additive errors, damped additive trend, optional 12-month season."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    season = {"seasonal": "add", "seasonal_periods": 12} if seasonal else {}
    return ETSModel(y, error="add", trend="add", damped_trend=True, **season).fit(
        disp=False, maxiter=200
    )


def new_mrr_paths(new: np.ndarray, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Return (PATHS, horizon) simulated new MRR from an ETS fit (≥ 0)."""
    if len(new) < MIN_MONTHS or np.allclose(new, new[0]):
        picks = rng.integers(0, len(new), (PATHS, horizon))
        return new[picks]
    scale = max(float(np.mean(np.abs(new))), 1.0)
    y = np.log1p(np.maximum(new, 0.0) / scale)  # deals are right-skewed: model them in logs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = _ets(y, seasonal=False)
        if len(new) >= SEASONAL_MONTHS:  # a 12-month season only where it earns its AICc
            seasonal = _ets(y, seasonal=True)
            fitted = seasonal if seasonal.aicc < fitted.aicc else fitted
        sims = fitted.simulate(
            horizon, repetitions=PATHS, anchor="end", random_errors="bootstrap", rng=rng
        )
    return np.maximum(np.expm1(np.asarray(sims).reshape(horizon, PATHS).T) * scale, 0.0)


def signup_season(new_customers: np.ndarray) -> np.ndarray:
    """Return next year's signup index per month ahead (last year ÷ its mean), or [1.0]."""
    last_year = new_customers[-12:]
    if len(new_customers) < SEASONAL_MONTHS or last_year.mean() <= 0:
        return np.ones(1)
    return last_year / last_year.mean()


def simulate(history: History, horizon: int, seed: int = 0) -> Paths:
    """Return PATHS simulated futures of MRR, customers and logo churn for HORIZON months."""
    rng = np.random.default_rng(seed)
    h = history.head(len(history))
    window = slice(max(0, len(h) - RATE_WINDOW), len(h))
    rates = {
        "churn": _ratio(h.churn, h.mrr_start)[window],
        "contraction": _ratio(h.contraction, h.mrr_start)[window],
        "expansion": _ratio(h.expansion, h.mrr_start)[window],
        "logo": _ratio(h.churned_customers, h.customers_start)[window],
    }
    reactivation, reactivated = h.reactivation[window], h.reactivated_customers[window]
    new_customers = h.new_customers[window]
    new = new_mrr_paths(h.new, horizon, rng)
    # Each path first resamples the window (a bootstrap of the months: the rates' own
    # uncertainty), then draws its future months from that resample.
    width = len(rates["churn"])
    pools = rng.integers(0, width, (PATHS, width))
    picks = np.take_along_axis(pools, rng.integers(0, width, (PATHS, horizon)), axis=1)
    signup_level = np.take_along_axis(np.broadcast_to(new_customers, pools.shape), pools, 1)
    signup_level = signup_level.mean(axis=1)
    season = signup_season(h.new_customers)
    mrr, customers = np.full(PATHS, h.mrr_end[-1]), np.full(PATHS, h.customers_end[-1])
    out = {k: np.empty((PATHS, horizon)) for k in ("mrr", "customers", "logo_churn")}
    for k in range(horizon):  # one step per month, vectorised over paths
        pick = picks[:, k]
        kept = 1.0 - rates["churn"][pick] - rates["contraction"][pick] + rates["expansion"][pick]
        mrr = mrr * kept + new[:, k] + reactivation[pick]
        churned = rng.binomial(customers.astype(np.int64), np.clip(rates["logo"][pick], 0, 1))
        signups = rng.poisson(signup_level * season[k % len(season)])
        customers = customers - churned + signups + reactivated[pick]
        out["mrr"][:, k], out["customers"][:, k], out["logo_churn"][:, k] = mrr, customers, churned
    return Paths(**out)
