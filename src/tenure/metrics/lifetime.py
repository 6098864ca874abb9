"""Survival-based customer lifetime and LTV, beside ChartMogul's ARPA ÷ churn-rate LTV.

ChartMogul's LTV divides ARPA by the trailing-six-month logo churn rate: it assumes every
customer faces the same constant monthly churn. The survival-based LTV instead fits the
lifetimes of every paying account (first paid day → churn, or censored at the as-of instant)
with a Weibull model (lifelines' ``WeibullFitter``), whose mean lifetime
``λ·Γ(1 + 1/ρ)`` extrapolates past the observed window; LTV = ARPA × mean lifetime (months).
With constant churn p per month both agree (the mean of a geometric lifetime is 1/p); when
churn falls with tenure (ρ < 1), as it usually does, the survival LTV is the higher one.
Reference: Fader & Hardie, "How to project customer retention" (2007), on why constant-rate
projections understate long-lived customers.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
from lifelines import WeibullFitter

DAYS_PER_MONTH = 365.25 / 12
MIN_MONTHS = 1 / DAYS_PER_MONTH  # a lifetime of at least one day (the fit needs > 0)
MIN_CHURNED = 5  # fewer churned accounts than this give no fit (None)


def account_lifetimes(subscriptions: pa.Table, end: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Return (months, churned) per paying account, from paid subscriptions started before end.

    An account has churned when every paid subscription it started before ``end`` had ended by
    then; its lifetime runs from its first paid start to its last end. Others are censored at
    ``end`` (a naive UTC datetime, like the table's timestamps).
    """
    frame = subscriptions.select(["account_id", "mrr", "started_at", "ended_at"]).to_pandas()
    frame = frame[(frame["mrr"] > 0) & (frame["started_at"] < end)]
    if frame.empty:
        return np.empty(0), np.empty(0, dtype=bool)
    ended = frame["ended_at"].where(frame["ended_at"] < end)
    grouped = frame.assign(open=ended.isna(), ended=ended).groupby("account_id")
    first, still_open, last_end = (
        grouped["started_at"].min(),
        grouped["open"].any(),
        grouped["ended"].max(),
    )
    stop = last_end.where(~still_open, pd.Timestamp(end))
    months = (stop - first).dt.total_seconds().to_numpy() / 86_400 / DAYS_PER_MONTH
    return np.maximum(months, MIN_MONTHS), ~still_open.to_numpy()


def mean_lifetime_months(months: np.ndarray, churned: np.ndarray) -> float | None:
    """Return the Weibull-fitted mean lifetime in months (None with too few churned accounts)."""
    if int(np.sum(churned)) < MIN_CHURNED:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = WeibullFitter().fit(months, event_observed=churned)
    mean = fitter.lambda_ * math.gamma(1 + 1 / fitter.rho_)
    return float(mean) if math.isfinite(mean) else None


def survival_ltv(arpa: float | None, lifetime_months: float | None) -> float | None:
    """Return ARPA × mean lifetime in months (None when either is unknown)."""
    if arpa is None or lifetime_months is None:
        return None
    return arpa * lifetime_months
