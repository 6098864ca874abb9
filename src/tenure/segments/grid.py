"""Value × risk grid and RFM-style usage segments (pure functions over per-account metrics).

Value tier: tertiles of MRR among paying accounts (low / mid / high); accounts without MRR are
left out of the grid. Risk tier: the churn model's risk tier (`churn_risk`, from the latest
churn score on or before the date) where the account is scored; otherwise a documented *proxy* —
the usage trend, events in the last 30 days over the 30 before: no events in either window, or a
ratio below 0.5, is "high" risk; below 0.9 "medium"; otherwise (or rising from nothing) "low".

RFM: quintile scores 1–5 (5 best) for recency (days since the last event, fewer is better; never
seen scores 1), frequency (events in the last 30 days) and monetary (MRR). Accounts fall in the
first group that fits: champions (R, F, M ≥ 4), at-risk (R ≤ 2, M ≥ 4: valuable but gone
quiet), hibernating (R ≤ 2, F ≤ 2), promising (R ≥ 4, M ≤ 2), else other.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VALUE_TIERS = ("low", "mid", "high")
RISK_TIERS = ("low", "medium", "high")
RFM_GROUPS = ("champions", "at-risk", "hibernating", "promising", "other")


def usage_risk(events_30d: float, events_prev_30d: float) -> str:
    """Return the proxy churn-risk tier from the usage trend."""
    if events_prev_30d <= 0:
        return "low" if events_30d > 0 else "high"
    ratio = events_30d / events_prev_30d
    return "high" if ratio < 0.5 else "medium" if ratio < 0.9 else "low"


def rank_scores(values: Sequence[float], buckets: int) -> list[int]:
    """Return 1..buckets per value by the share of values strictly below it (ties share)."""
    ordered = sorted(values)
    n = len(values)
    return [1 + min(buckets - 1, buckets * bisect_left(ordered, v) // n) for v in values]


def value_risk_grid(metrics: Mapping[int, Mapping[str, Any]]) -> dict[int, str]:
    """Return account_id → grid cell name, e.g. "value-high-risk-medium", for paying accounts."""
    paying = sorted(a for a, m in metrics.items() if (m.get("mrr") or 0) > 0)
    tiers = rank_scores([metrics[a]["mrr"] for a in paying], 3)
    cells = {}
    for account_id, tier in zip(paying, tiers, strict=True):
        m = metrics[account_id]
        risk = m.get("churn_risk") or usage_risk(
            m.get("events_30d") or 0, m.get("events_prev_30d") or 0
        )
        cells[account_id] = cell_name(VALUE_TIERS[tier - 1], risk)
    return cells


def rfm_group(r: int, f: int, m: int) -> str:
    """Return the RFM group of a set of scores."""
    if min(r, f, m) >= 4:
        return "champions"
    if r <= 2 and m >= 4:
        return "at-risk"
    if r <= 2 and f <= 2:
        return "hibernating"
    return "promising" if r >= 4 and m <= 2 else "other"


def rfm_segments(metrics: Mapping[int, Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Return account_id → {r, f, m, group} from recency, frequency and MRR."""
    ids = sorted(metrics)
    if not ids:
        return {}
    days = [metrics[a].get("days_since_last_event") for a in ids]
    recency = [-(10**9 if d is None else d) for d in days]
    # A never-seen account scores 1 even when many share that value.
    r_scores = [1 if d is None else s for d, s in zip(days, rank_scores(recency, 5), strict=True)]
    f_scores = rank_scores([metrics[a].get("events_30d") or 0 for a in ids], 5)
    m_scores = rank_scores([metrics[a].get("mrr") or 0 for a in ids], 5)
    return {
        a: {"r": r, "f": f, "m": m, "group": rfm_group(r, f, m)}
        for a, r, f, m in zip(ids, r_scores, f_scores, m_scores, strict=True)
    }


@dataclass(frozen=True)
class GridCell:
    """One value × risk cell: how many accounts it holds and their MRR (major units)."""

    value: str
    risk: str
    accounts: int
    mrr: float


def cell_name(value: str, risk: str) -> str:
    """Return the segment name of a value × risk cell."""
    return f"value-{value}-risk-{risk}"


def grid_cells(
    members: Mapping[str, Collection[int]], mrr: Mapping[int, float]
) -> list[list[GridCell]]:
    """Return the grid as rows of value tiers, high first, each with the risk tiers low→high."""
    rows = []
    for value in reversed(VALUE_TIERS):
        row = []
        for risk in RISK_TIERS:
            ids = members.get(cell_name(value, risk), ())
            total = round(sum(mrr.get(a, 0.0) for a in ids), 2)
            row.append(GridCell(value=value, risk=risk, accounts=len(ids), mrr=total))
        rows.append(row)
    return rows
