"""Signup-cohort retention matrices: logo, net MRR and gross MRR retention by months since signup.

A cohort is the month of an account's first month-end snapshot with MRR > 0 (the month its
MRR counts as "new" in the movements); months_since = 0 is that month. For cohort c and month
c + k, with MRR read at month-ends in reporting-currency minor units:

- logo retention = members with MRR > 0 at c + k ÷ members (ChartMogul's "customer
  retention" cohort view; Baremetrics' customer cohorts);
- net MRR retention = the members' total MRR at c + k ÷ their total MRR at c, so expansion
  and reactivation count and it may exceed 100 % (ChartMogul's "net MRR retention" cohorts);
- gross MRR retention = Σ min(MRR at c + k, MRR at c) over members ÷ their MRR at c: every
  account is capped at its starting MRR, so expansion never counts and it never exceeds
  100 % (the cohort form of GRR as ChartMogul and Baremetrics define it: retained revenue
  excluding expansion); a reactivated account counts again, up to its starting MRR.

Month 0 is 100 % in all three by construction. The heavy work runs as Ibis expressions
(`warehouse.stages.cohorts`) in an in-memory DuckDB; the rest here is pure shaping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from tenure.metrics.currency import FX_RATES, minor_unit_factors, to_major_units
from tenure.metrics.months import month_text
from tenure.metrics.movements import connect_engine
from tenure.warehouse.stages.cohorts import signup_cohort_retention
from tenure.warehouse.stages.metrics import (
    account_first_paid_month,
    account_mrr_by_month,
    subscriptions_in_reporting_currency,
)

MATRICES = {"logo": "Logo retention", "net_mrr": "Net MRR retention"}
MATRICES |= {"gross_mrr": "Gross MRR retention"}
CSV_FIELDS = ("cohort", "months_since", "accounts", "logo_retention")
CSV_FIELDS += ("net_mrr_retention", "gross_mrr_retention")


@dataclass(frozen=True)
class CohortCell:
    """One cohort × months-since cell; money in reporting-currency minor units."""

    cohort: int
    months_since: int
    size: int
    mrr0: int
    accounts: int
    mrr: int
    gross_mrr: int


def cohort_cells(
    subscriptions: pa.Table,
    first: int,
    last: int,
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
    backend: Any = None,
) -> list[CohortCell]:
    """Return every cell of the signup cohorts first … last, observed through last."""
    currencies = [c for c in pc.unique(subscriptions["currency"]).to_pylist() if c]
    factors = minor_unit_factors(currencies, currency, rates)
    backend = backend or connect_engine()
    table = subscriptions_in_reporting_currency(ibis.memtable(subscriptions), factors=factors)
    mrr = account_mrr_by_month(table, months=range(first, last + 1))
    cells = signup_cohort_retention(mrr, account_first_paid_month(table), first=first, last=last)
    rows = backend.to_pyarrow(cells.drop("month")).to_pylist()
    return sorted(
        (CohortCell(**{k: int(v) for k, v in row.items()}) for row in rows),
        key=lambda c: (c.cohort, c.months_since),
    )


def retention_matrix(cells: Sequence[CohortCell], currency: str = "USD") -> dict[str, Any]:
    """Return the heat-map-ready report: one entry per cohort with its three retention rows."""
    cohorts: dict[int, list[CohortCell]] = {}
    for cell in sorted(cells, key=lambda c: (c.cohort, c.months_since)):
        cohorts.setdefault(cell.cohort, []).append(cell)
    entries = []
    for cohort, row in cohorts.items():
        size, mrr0 = row[0].size, row[0].mrr0
        entries.append(
            {
                "cohort": month_text(cohort),
                "size": size,
                "mrr0": to_major_units(mrr0, currency),
                "accounts": [c.accounts for c in row],
                "logo": [c.accounts / size for c in row],
                "net_mrr": [c.mrr / mrr0 for c in row],
                "gross_mrr": [c.gross_mrr / mrr0 for c in row],
            }
        )
    width = max((len(e["logo"]) for e in entries), default=0)
    return {"currency": currency, "cohorts": entries, "months_since": list(range(width))}


def csv_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the matrices in long format: one row per cohort and months since signup."""
    return [
        {
            "cohort": entry["cohort"],
            "months_since": k,
            "accounts": entry["accounts"][k],
            "logo_retention": entry["logo"][k],
            "net_mrr_retention": entry["net_mrr"][k],
            "gross_mrr_retention": entry["gross_mrr"][k],
        }
        for entry in report["cohorts"]
        for k in range(len(entry["logo"]))
    ]
