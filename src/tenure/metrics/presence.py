"""Active accounts and logo-retention cohorts under a churn definition, as Ibis expressions.

An account *counts* at the end of month M (T = the first instant of M + 1) when:
- it is billed at M (a subscription row started before T) and its month-end MRR is > 0, or
- it is not billed at M and it is active: an event in [T − N days, T), N = inactivity_days
  (the churn.inactivity definition, read on the month's last day);
under "subscription" only the first rule applies, under "inactivity" only the activity test.
`account_presence` returns the counted (account, month) pairs with mrr = 1, the shape of
`stages.metrics.account_mrr_by_month`, so `stages.cohorts.signup_cohort_retention` gives logo
retention unchanged: the cohort is the first counted month-end, accounts = members counted at
c + k. MRR figures (net/gross MRR retention, movements) need billing data and stay
subscription-only.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from tenure.churn.inactivity import INACTIVITY, SUBSCRIPTION, ChurnDefinition, event_days
from tenure.warehouse.stages.cohorts import signup_cohort_retention
from tenure.warehouse.stages.metrics import account_mrr_by_month, month_start


def month_cutoffs(months: Sequence[int]) -> ir.Table:
    """Return month, cutoff: each month index and the first instant of the next month."""
    months = sorted({int(m) for m in months})
    return ibis.memtable(
        {"month": months, "cutoff": [month_start(m + 1) for m in months]},
        schema={"month": "int64", "cutoff": "timestamp"},
    )


def active_by_month(events: ir.Table, months: Sequence[int], inactivity_days: int) -> ir.Table:
    """Return account_id, month: accounts with an event in the N days before each month-end."""
    grid = month_cutoffs(months)
    days = event_days(events)
    start = grid.cutoff - ibis.interval(days=inactivity_days)
    j = days.join(grid, [days.day < grid.cutoff, days.day >= start])
    return j.select("account_id", "month").distinct()


def billed_by_month(subscriptions: ir.Table, months: Sequence[int]) -> ir.Table:
    """Return account_id, month: accounts with a subscription row started before the month-end."""
    grid = month_cutoffs(months)
    j = subscriptions.join(grid, subscriptions.started_at < grid.cutoff)
    return j.select("account_id", "month").distinct()


def account_presence(
    subscriptions: ir.Table,
    events: ir.Table,
    months: Sequence[int],
    definition: ChurnDefinition,
) -> ir.Table:
    """Return account_id, month, mrr (= 1): the accounts counted at each month-end."""
    paying = account_mrr_by_month(subscriptions, months=months)
    paying = paying.filter(paying.mrr > 0).select("account_id", "month")
    if definition.kind == SUBSCRIPTION:
        counted = paying
    else:
        active = active_by_month(events, months, definition.inactivity_days)
        if definition.kind == INACTIVITY:
            counted = active
        else:
            billed = billed_by_month(subscriptions, months)
            keys = [active.account_id == billed.account_id, active.month == billed.month]
            counted = paying.union(active.anti_join(billed, keys))
    return counted.mutate(mrr=ibis.literal(1, type="int64"))


def active_accounts_by_month(presence: ir.Table) -> ir.Table:
    """Return month, active_accounts: how many accounts count at each month-end."""
    return presence.group_by("month").aggregate(active_accounts=presence.count())


def logo_retention_cells(
    subscriptions: ir.Table,
    events: ir.Table,
    definition: ChurnDefinition,
    *,
    history_start: int,
    first: int,
    last: int,
) -> ir.Table:
    """Return cohort, months_since, size, accounts: logo retention of cohorts first … last.

    Cohorts are the first counted month-end since history_start (the first month with data).
    """
    presence = account_presence(subscriptions, events, range(history_start, last + 1), definition)
    first_counted = presence.group_by("account_id").aggregate(first_paid_month=presence.month.min())
    cells = signup_cohort_retention(presence, first_counted, first=first, last=last)
    return cells.select("cohort", "months_since", "size", "accounts")
