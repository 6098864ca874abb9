"""Churn drivers: metric cohorts vs churn rate, ranked, with correlated metrics grouped.

Following "Fighting Churn with Data" (Gold, 2020, ch. 5–6): every numeric metric is cut into
cohorts at its deciles (a metric with at most :data:`MAX_EXACT` distinct values gets one cohort
per value), every categorical attribute has one cohort per level, and missing values form a
cohort of their own. Each cohort reports its accounts and churn rate.

**Score.** A driver is strong when churn differs a lot between its cohorts, for many accounts.
The score is the bias-corrected Cramér's V (Bergsma 2013) of the cohort × churned table. For a
two-column table V² = Σᵢ nᵢ (pᵢ − p)² ÷ (N p (1 − p)): the size-weighted variance of the cohort
churn rates pᵢ around the overall rate p, as a share of the churn variance — so it rewards big
gaps in churn rate that hold for big cohorts, lies in [0, 1], and compares a 10-decile metric
with a yes/no attribute once corrected for the number of cohorts. ``spread`` (highest minus
lowest churn rate among cohorts holding at least 1 % of accounts) is reported beside it.

**Groups.** Metrics that carry the same signal are grouped so the list is not copies of one
signal: going down the ranking, each metric not yet grouped leads a new group, and every weaker
metric associated with the leader strongly enough joins it: |Spearman ρ| ≥
:data:`GROUP_SPEARMAN` (0.7) between two numeric metrics, otherwise the corrected Cramér's V
between their cohorts ≥ :data:`GROUP_CRAMERS_V` (0.8). V is set higher because one shared level
inflates V on multi-level tables: on Telco, the "No internet service" level that seven service
attributes share with ``InternetService = No`` puts every pair of them at V ≈ 0.71–0.77 although
their other levels differ, while real duplicates (``InternetService`` vs ``MonthlyCharges``
deciles, V = 0.85; ``tenure`` vs ``TotalCharges``, ρ = 0.89) clear both bars. Leader-based
rather than transitive grouping avoids chaining. Every metric stays in the list with ``group``
naming its leader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tenure.analysis.frame import AnalysisFrame

DECILES = 10
MAX_EXACT = 10
GROUP_SPEARMAN = 0.7
GROUP_CRAMERS_V = 0.8
MIN_COHORT_SHARE = 0.01
MISSING = "missing"


@dataclass
class Cohort:
    """One cohort of a metric: its label, size and churn rate."""

    label: str
    accounts: int
    churn_rate: float


@dataclass
class Driver:
    """One metric's cohorts and how strongly churn varies across them."""

    metric: str
    kind: str
    score: float
    spread: float
    group: str = ""
    cohorts: list[Cohort] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "metric": self.metric,
            "kind": self.kind,
            "score": round(self.score, 6),
            "spread": round(self.spread, 6),
            "group": self.group,
            "cohorts": [
                {"label": c.label, "accounts": c.accounts, "churn_rate": round(c.churn_rate, 6)}
                for c in self.cohorts
            ],
        }


def _number(value: float) -> str:
    return f"{value:.4g}"


def cohort_labels(values: pd.Series) -> pd.Series:
    """Return each account's cohort label for a metric (ordered categorical).

    Numeric: one cohort per value when there are at most MAX_EXACT values, else deciles
    (edges shared by ties are merged). Text: one cohort per level. Missing: ``missing``.
    """
    present = values.dropna()
    if values.dtype.kind in "fiub":
        distinct = np.sort(present.unique())
        if len(distinct) <= MAX_EXACT:
            names = [_number(v) for v in distinct]
            labels = present.map(dict(zip(distinct, names, strict=True)))
        else:
            bins, edges = pd.qcut(present, DECILES, retbins=True, duplicates="drop", labels=False)
            names = [f"{_number(edges[i])}–{_number(edges[i + 1])}" for i in range(len(edges) - 1)]
            labels = bins.map(lambda b: names[int(b)])
    else:
        names = sorted(present.astype(str).unique())
        labels = present.astype(str)
    order = names + ([MISSING] if values.isna().any() else [])
    full = (
        labels.reindex(values.index).fillna(MISSING)
        if len(labels)
        else values.map(lambda _: MISSING)
    )
    return pd.Categorical(full, categories=order, ordered=True)


def cramers_v(a: Any, b: Any) -> float:
    """Return the bias-corrected Cramér's V (Bergsma 2013) between two label arrays."""
    table = pd.crosstab(pd.Series(np.asarray(a)), pd.Series(np.asarray(b))).to_numpy(float)
    n = table.sum()
    rows, cols = table.shape
    if n < 2 or rows < 2 or cols < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (rows - 1) * (cols - 1) / (n - 1))
    r_corr = rows - (rows - 1) ** 2 / (n - 1)
    c_corr = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(r_corr - 1, c_corr - 1)
    return float(np.sqrt(phi2 / denominator)) if denominator > 0 else 0.0


def metric_driver(name: str, values: pd.Series, churned: pd.Series) -> Driver:
    """Return the cohorts of one metric and its score."""
    labels = cohort_labels(values)
    table = (
        pd.DataFrame({"cohort": labels, "churned": churned.to_numpy()})
        .groupby("cohort", observed=True)["churned"]
        .agg(["size", "mean"])
    )
    cohorts = [
        Cohort(str(label), int(row["size"]), float(row["mean"])) for label, row in table.iterrows()
    ]
    big = table[table["size"] >= MIN_COHORT_SHARE * len(values)]
    spread = float(big["mean"].max() - big["mean"].min()) if len(big) > 1 else 0.0
    kind = "numeric" if values.dtype.kind in "fiub" else "categorical"
    return Driver(name, kind, cramers_v(labels, churned), spread, cohorts=cohorts)


def associated(a: pd.Series, b: pd.Series) -> bool:
    """Return whether two metrics carry the same signal (see the module docstring)."""
    if a.dtype.kind in "fiub" and b.dtype.kind in "fiub":
        both = a.notna() & b.notna()
        if both.sum() < 3:
            return False
        rho = a[both].rank().corr(b[both].rank())
        return bool(pd.notna(rho) and abs(rho) >= GROUP_SPEARMAN)
    return cramers_v(cohort_labels(a), cohort_labels(b)) >= GROUP_CRAMERS_V


def churn_drivers(frame: AnalysisFrame, metrics: list[str] | None = None) -> list[Driver]:
    """Return every metric's driver, strongest first, each tagged with its group's leader."""
    data = frame.data
    names = metrics if metrics is not None else frame.features
    drivers = [metric_driver(name, data[name], data["event"]) for name in names]
    drivers.sort(key=lambda d: (-d.score, d.metric))
    for i, leader in enumerate(drivers):
        if leader.group:
            continue
        leader.group = leader.metric
        for other in drivers[i + 1 :]:
            if not other.group and associated(data[leader.metric], data[other.metric]):
                other.group = leader.metric
    return drivers


def drivers_report(frame: AnalysisFrame, drivers: list[Driver]) -> dict[str, Any]:
    """Return the JSON object of the drivers analysis."""
    events = frame.data["event"]
    return {
        "accounts": len(events),
        "churn_rate": round(float(events.mean()), 6) if len(events) else None,
        "score": "bias-corrected Cramér's V of cohort × churned",
        "drivers": [d.to_dict() for d in drivers],
    }
