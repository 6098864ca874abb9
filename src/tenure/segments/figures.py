"""The four figures every segment reports, as pure functions of MRR snapshots.

Over the trailing month (the month ending on the as-of date D, from S = D − 1 month):
- accounts: members as of D; mrr: their MRR as of D (reporting-currency major units).
- logo churn: of the segment's accounts at S (its members as of S) that paid at S, the share
  that pay nothing at D — ChartMogul's customer churn rate restricted to the segment.
- NRR: those same accounts' MRR at D over their MRR at S (expansion, contraction and churn
  counted; new and reactivated accounts left out), as in ChartMogul's net revenue retention.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def segment_figures(
    members: Collection[int],
    start_members: Collection[int],
    mrr_start: Mapping[int, float],
    mrr_end: Mapping[int, float],
) -> dict[str, Any]:
    """Return accounts, mrr, logo_churn_rate and nrr of a segment (rates as fractions)."""
    paying = [a for a in start_members if mrr_start.get(a, 0) > 0]
    churned = [a for a in paying if mrr_end.get(a, 0) <= 0]
    start_total = sum(mrr_start[a] for a in paying)
    kept_total = sum(mrr_end.get(a, 0) for a in paying)
    return {
        "accounts": len(members),
        "mrr": round(sum(mrr_end.get(a, 0) for a in members), 2),
        "logo_churn_rate": len(churned) / len(paying) if paying else None,
        "nrr": kept_total / start_total if start_total else None,
    }
