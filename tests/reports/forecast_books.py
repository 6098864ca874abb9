"""A book's monthly aggregates drawn from a known process (tests and bench)."""

from __future__ import annotations

import numpy as np

from tenure.reports.forecast.history import History

FIELDS = [
    "mrr_start",
    "mrr_end",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "customers_start",
    "customers_end",
    "new_customers",
    "reactivated_customers",
    "churned_customers",
]


def _month(rng, accounts: int, t: int, mrr: float, customers: float) -> dict[str, float]:
    """Return one month's bridge: seasonal signups, Beta-Binomial logo churn, rate noise."""
    season = 1 + 0.15 * np.sin(2 * np.pi * t / 12)
    new_customers = rng.poisson(accounts * 0.02 * season)
    churned = rng.binomial(int(customers), rng.beta(30, 970))
    expansion, contraction = mrr * rng.gamma(20, 0.001), mrr * rng.gamma(20, 0.0005)
    reactivated = rng.poisson(accounts * 0.001)
    out = {"mrr_start": mrr, "customers_start": customers, "churned_customers": churned}
    out |= {"new_customers": new_customers, "reactivated_customers": reactivated}
    out |= {"new": new_customers * rng.gamma(50, 2.0), "expansion": expansion}
    out |= {"contraction": contraction, "churn": churned * mrr / customers}
    out["reactivation"] = reactivated * 90.0
    out["mrr_end"] = mrr + out["new"] + expansion - contraction - out["churn"]
    out["mrr_end"] += out["reactivation"]
    out["customers_end"] = customers + new_customers - churned + reactivated
    return out


def synthetic_history(months: int, accounts: int = 10_000, seed: int = 0) -> History:
    """Return MONTHS of a growing book of ACCOUNTS potential accounts, starting half signed."""
    rng = np.random.default_rng(seed)
    customers, mrr = accounts * 0.5, accounts * 0.5 * 100.0
    rows = []
    for t in range(months):
        row = _month(rng, accounts, t, mrr, customers)
        mrr, customers = row["mrr_end"], row["customers_end"]
        rows.append(row)
    names = [f"{2022 + t // 12}-{t % 12 + 1:02d}" for t in range(months)]
    return History(names, **{k: np.array([r[k] for r in rows], float) for k in FIELDS})
