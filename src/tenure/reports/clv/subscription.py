"""Subscription CLV per account: remaining lifetime from churn hazard and book survival.

The book's survival is a Weibull fit of paying accounts' lifetimes (months): cumulative hazard
Λ(t) = (t/λ)^ρ. An account of tenure a faces the book's hazard from a on, scaled by its own
risk k (proportional hazards), with k set so the churn model's probability p over its horizon
h months is matched: 1 − exp(−k·[Λ(a+h) − Λ(a)]) = p. Unscored accounts take k = 1 (the book).
Without a book fit (too few churned accounts), a scored account churns at the constant monthly
rate implied by p: S(m) = (1 − p)^(m/h). With neither, the value is unknown (NaN).

    survival        S(m | a) = exp(−k·[Λ(a+m) − Λ(a)]),  m = 1 … CAP_MONTHS
    lifetime        Σ_m S(m | a)                         (expected further paid months)
    CLV             MRR × gross margin × Σ_m S(m | a) · (1 + r)^(−m/12)

r is the annual discount rate; the sum stops at CAP_MONTHS (10 years), where survival and
discounting leave little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CAP_MONTHS = 120
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class BookSurvival:
    """A Weibull fit of the book's paying lifetimes in months: shape rho, scale lam."""

    rho: float
    lam: float

    def cumulative_hazard(self, months: np.ndarray) -> np.ndarray:
        """Return Λ(t) = (t/λ)^ρ."""
        return (np.maximum(months, 0.0) / self.lam) ** self.rho


def survival_matrix(
    tenure: np.ndarray,
    probability: np.ndarray,
    horizon_months: np.ndarray | float,
    book: BookSurvival | None,
    months: int = CAP_MONTHS,
) -> np.ndarray:
    """Return S(m | a) per account (rows) and month ahead m = 1 … months (columns)."""
    tenure, p = np.asarray(tenure, float)[:, None], np.asarray(probability, float)[:, None]
    h = np.broadcast_to(np.asarray(horizon_months, float), tenure.shape[:1])[:, None]
    ahead = np.arange(1, months + 1, dtype=float)[None, :]
    p = np.clip(p, 0.0, 1.0 - 1e-9)
    if book is None:  # constant monthly hazard from p alone; NaN where unscored
        return (1.0 - p) ** (ahead / h)
    base = book.cumulative_hazard(tenure)
    window = book.cumulative_hazard(tenure + h) - base
    k = np.where(np.isnan(p), 1.0, -np.log1p(-np.nan_to_num(p)) / np.maximum(window, 1e-12))
    return np.exp(-k * (book.cumulative_hazard(tenure + ahead) - base))


def subscription_clv(
    mrr: np.ndarray,
    tenure: np.ndarray,
    probability: np.ndarray,
    horizon_months: np.ndarray | float,
    book: BookSurvival | None,
    *,
    gross_margin: float,
    discount_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (CLV, expected remaining lifetime in months) per account."""
    survival = survival_matrix(tenure, probability, horizon_months, book)
    ahead = np.arange(1, survival.shape[1] + 1, dtype=float)
    discount = (1.0 + discount_rate) ** (-ahead / 12.0)
    lifetime = survival.sum(axis=1)
    value = np.asarray(mrr, float) * gross_margin * (survival @ discount)
    return value, lifetime
