"""Month-level retention formulas, each a small pure function citing its source.

Sources:
- ChartMogul, "MRR movements" (help.chartmogul.com, *MRR movements explained*): new business,
  expansion, contraction, churn and reactivation MRR, reconciling start MRR to end MRR.
- ChartMogul, "Customer churn rate", "Net MRR churn rate", "Net revenue retention",
  "Average revenue per account (ARPA)", "Customer lifetime value (LTV)" metric definitions.
- Quick ratio: Mamoon Hamid (Social Capital), "The SaaS Quick Ratio" (2015).

Money arguments are in any one unit (the callers pass minor units); rates are fractions.
A rate whose denominator is zero is undefined and returned as None, never as 0 or infinity.
"""

from __future__ import annotations

from collections.abc import Sequence

NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION = (
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
)
MOVEMENT_KINDS = (NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION)


def movement_kind(mrr_start: float, mrr_end: float, *, paid_before: bool) -> str | None:
    """Classify an account's month by ChartMogul's five MRR movements (None: no movement)."""
    if mrr_start <= 0 < mrr_end:
        return REACTIVATION if paid_before else NEW
    if mrr_start > 0 and mrr_end <= 0:
        return CHURN
    if 0 < mrr_start < mrr_end:
        return EXPANSION
    if 0 < mrr_end < mrr_start:
        return CONTRACTION
    return None


def reconciles(
    mrr_start: float,
    mrr_end: float,
    *,
    new: float,
    expansion: float,
    contraction: float,
    churn: float,
    reactivation: float,
) -> bool:
    """Tell whether start + new + expansion + reactivation − contraction − churn = end (ChartMogul)."""
    return mrr_start + new + expansion + reactivation - contraction - churn == mrr_end


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def logo_churn_rate(churned_customers: int, customers_start: int) -> float | None:
    """Return customers lost in the month ÷ customers at its start (ChartMogul customer churn rate)."""
    return _ratio(churned_customers, customers_start)


def gross_mrr_churn_rate(churn: float, contraction: float, mrr_start: float) -> float | None:
    """Return (churn + contraction) ÷ start MRR (ChartMogul gross MRR churn rate)."""
    return _ratio(churn + contraction, mrr_start)


def net_mrr_churn_rate(
    churn: float, contraction: float, expansion: float, reactivation: float, mrr_start: float
) -> float | None:
    """Return (churn + contraction − expansion − reactivation) ÷ start MRR (ChartMogul net MRR churn)."""
    return _ratio(churn + contraction - expansion - reactivation, mrr_start)


def grr(churn: float, contraction: float, mrr_start: float) -> float | None:
    """Return gross revenue retention, 1 − gross MRR churn rate (ChartMogul GRR)."""
    rate = gross_mrr_churn_rate(churn, contraction, mrr_start)
    return None if rate is None else 1 - rate


def nrr(churn: float, contraction: float, expansion: float, mrr_start: float) -> float | None:
    """Return (start + expansion − contraction − churn) ÷ start MRR (ChartMogul net revenue retention)."""
    return _ratio(mrr_start + expansion - contraction - churn, mrr_start)


def arpa(mrr_end: float, customers_end: int) -> float | None:
    """Return end MRR ÷ customers at the end (ChartMogul average revenue per account)."""
    return _ratio(mrr_end, customers_end)


def trailing_mean(rates: Sequence[float | None], window: int = 6) -> float | None:
    """Return the mean of the last `window` defined rates (ChartMogul averages six months)."""
    defined = [r for r in rates[-window:] if r is not None]
    return sum(defined) / len(defined) if defined else None


def ltv(arpa_value: float | None, mean_logo_churn_rate: float | None) -> float | None:
    """Return ARPA ÷ mean monthly logo churn rate (ChartMogul LTV; None when churn is 0)."""
    if arpa_value is None or not mean_logo_churn_rate:
        return None
    return arpa_value / mean_logo_churn_rate


def quick_ratio(
    new: float, expansion: float, reactivation: float, churn: float, contraction: float
) -> float | None:
    """Return (new + expansion + reactivation) ÷ (churn + contraction) (SaaS quick ratio, Hamid)."""
    return _ratio(new + expansion + reactivation, churn + contraction)
