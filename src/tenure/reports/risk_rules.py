"""What makes a risk (pure): a finding's shape, account exposure, and the programme rules' verdicts.

An account risk's likelihood is its churn probability over the model's horizon; its impact is
MRR × expected remaining lifetime, the lifetime from the same probability under a constant
hazard (h = −ln(1 − p) / (horizon / 30.4375) per month, lifetime = 1 / h, at most 120 months);
exposure = likelihood × impact. Programme risks have no likelihood or impact: they are open or
not, and are ordered after account risks by category.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from tenure.reports.measured import DAYS_PER_MONTH, MAX_LIFETIME_MONTHS

MIN_AUC_GAP = 0.05  # realised AUC this far below the backtest's is a risk
MIN_SCORED_FOR_AUC = 30  # fewer judged scores (or no churner / no survivor) says nothing


@dataclass
class Finding:
    """A risk as a rule sees it on one day (the register opens, updates or closes rows)."""

    key: str
    kind: str
    category: str
    title: str
    owner: str
    mitigation: str
    account_id: int | None = None
    likelihood: float | None = None
    impact: float | None = None
    exposure: float | None = None
    recommended_play: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the finding as JSON-ready values."""
        return asdict(self)


def remaining_lifetime_months(probability: float, horizon_days: int) -> float:
    """Return the expected remaining lifetime implied by a churn probability over a horizon."""
    if probability <= 0:
        return MAX_LIFETIME_MONTHS
    if probability >= 1:
        return horizon_days / DAYS_PER_MONTH / 2  # churns within the horizon: half of it on average
    hazard = -math.log(1 - probability) / (horizon_days / DAYS_PER_MONTH)
    return min(MAX_LIFETIME_MONTHS, 1 / hazard)


def account_exposure(probability: float, mrr: float, horizon_days: int) -> tuple[float, float]:
    """Return (impact, exposure): MRR × remaining lifetime, and probability × impact."""
    impact = mrr * remaining_lifetime_months(probability, horizon_days)
    return impact, probability * impact


def model_worse_than_backtest(backtest_auc: float | None, realised_auc: float | None) -> bool:
    """Tell whether the realised AUC fell more than MIN_AUC_GAP below the backtest's."""
    if backtest_auc is None or realised_auc is None:
        return False
    return realised_auc < backtest_auc - MIN_AUC_GAP


def overloaded_csms(open_tasks: dict[str, int], limit: int) -> dict[str, int]:
    """Return the CSMs with more open tasks than the limit."""
    return {owner: n for owner, n in open_tasks.items() if n > limit}


def rate_over(part: int, whole: int, limit: float) -> float | None:
    """Return part / whole when it exceeds limit (None when it does not, or nothing was sent)."""
    if whole <= 0:
        return None
    rate = part / whole
    return rate if rate > limit else None
