"""Forecast by simulation from parts: retention rates of the book and new MRR through ETS.

Each simulated path starts from the last month-end MRR and customers. Per future month it
draws one past month (of a bootstrap resample, per path, of the last RATE_WINDOW) and applies that month's MRR churn, contraction
and expansion rates and reactivation to the MRR carried over, draws churned customers as
Binomial(customers, that month's logo churn rate) and adds that month's new and reactivated
customers; new MRR is simulated from an ETS model (statsmodels; additive errors, damped additive
trend) of the new-MRR series. Drawing whole months keeps the rates' correlation; the ETS
simulation carries the new-business uncertainty. (New customers as ETS / new MRR ÷ new ARPA
lost to the resampled counts in the backtest: deal sizes are too lumpy.)
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


def new_mrr_paths(new: np.ndarray, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Return (PATHS, horizon) simulated new MRR from an ETS fit (≥ 0)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if len(new) < MIN_MONTHS or np.allclose(new, new[0]):
        picks = rng.integers(0, len(new), (PATHS, horizon))
        return new[picks]
    scale = max(float(np.mean(np.abs(new))), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seasonal = (
            {"seasonal": "add", "seasonal_periods": 12} if len(new) >= SEASONAL_MONTHS else {}
        )
        model = ETSModel(new / scale, error="add", trend="add", damped_trend=True, **seasonal)
        fitted = model.fit(disp=False, maxiter=200)
        sims = fitted.simulate(
            horizon, repetitions=PATHS, anchor="end", random_errors="bootstrap", rng=rng
        )
    return np.maximum(np.asarray(sims).reshape(horizon, PATHS).T * scale, 0.0)


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
    mrr, customers = np.full(PATHS, h.mrr_end[-1]), np.full(PATHS, h.customers_end[-1])
    out = {k: np.empty((PATHS, horizon)) for k in ("mrr", "customers", "logo_churn")}
    for k in range(horizon):  # one step per month, vectorised over paths
        pick = picks[:, k]
        kept = 1.0 - rates["churn"][pick] - rates["contraction"][pick] + rates["expansion"][pick]
        mrr = mrr * kept + new[:, k] + reactivation[pick]
        churned = rng.binomial(customers.astype(np.int64), np.clip(rates["logo"][pick], 0, 1))
        customers = customers - churned + new_customers[pick] + reactivated[pick]
        out["mrr"][:, k], out["customers"][:, k], out["logo_churn"][:, k] = mrr, customers, churned
    return Paths(**out)
