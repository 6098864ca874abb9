"""Signup-cohort retention cells as Ibis expressions (logo, net MRR and gross MRR retention).

Input: `account_mrr` (account_id, month, mrr: month-end MRR in reporting-currency minor units,
from `stages.metrics.account_mrr_by_month`, rows only where a subscription covers the
month-end) and `first_paid` (account_id, first_paid_month, from
`stages.metrics.account_first_paid_month`). An account's cohort is its first month whose
month-end snapshot has MRR > 0 — the month its MRR counts as "new" in the movements — so
every member is paying at months_since = 0.

Per cohort c and k = months since signup (month c + k, observed up to `last_month`):
- accounts: members with MRR > 0 at the month-end of c + k (size = accounts at k = 0);
- mrr: the members' MRR summed at c + k (mrr0 = mrr at k = 0);
- gross_mrr: Σ over members of min(MRR at c + k, MRR at c): what is kept of the starting MRR,
  expansion never counted, a reactivated account counted up to its starting MRR.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def signup_cohort_members(first_paid: ir.Table, *, first: int, last: int) -> ir.Table:
    """Return account_id, cohort: the accounts whose first paid month-end is in first … last."""
    t = first_paid
    members = t.filter((t.first_paid_month >= first) & (t.first_paid_month <= last))
    return members.select("account_id", cohort=members.first_paid_month)


def signup_cohort_retention(
    account_mrr: ir.Table, first_paid: ir.Table, *, first: int, last: int
) -> ir.Table:
    """Return per cohort and months_since: size, mrr0, accounts, mrr and gross_mrr.

    Cohorts are the signup months first … last, each observed through the month-end of last.
    """
    members = signup_cohort_members(first_paid, first=first, last=last)
    grid = ibis.memtable({"month": list(range(first, last + 1))}, schema={"month": "int64"})
    cells = members.join(grid, members.cohort <= grid.month)
    mrr = account_mrr.view()
    start = account_mrr.view()
    cells = cells.left_join(
        mrr, [cells.account_id == mrr.account_id, cells.month == mrr.month]
    ).select(cells.account_id, cells.cohort, cells.month, mrr_k=mrr.mrr.fill_null(0))
    cells = cells.join(
        start, [cells.account_id == start.account_id, cells.cohort == start.month]
    ).select(cells.cohort, cells.month, cells.mrr_k, mrr_0=start.mrr)
    return cells.group_by(["cohort", "month"]).aggregate(
        months_since=(cells.month - cells.cohort).max(),
        size=cells.count(),
        mrr0=cells.mrr_0.sum(),
        accounts=(cells.mrr_k > 0).sum(),
        mrr=cells.mrr_k.sum(),
        gross_mrr=ibis.least(cells.mrr_k, cells.mrr_0).sum(),
    )
