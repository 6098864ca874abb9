"""MRR snapshots and movements as Ibis expressions, so the engine does the heavy lifting.

Input: a subscriptions table with at least account_id, mrr (integer minor units, monthly
normalised), currency, started_at and ended_at (naive UTC timestamps; ended_at NULL while open).
Months are integer indices `year * 12 + (month - 1)` (see `tenure.metrics.months`).

Definitions (ChartMogul, "MRR movements"):
- An account's MRR at instant t is the sum of mrr over its rows with
  started_at ≤ t < coalesce(ended_at, ∞); MRR in force on a day is the MRR at its last instant
  (`tenure.accounts.mrr`, the one definition every consumer shares).
- The month-end snapshot of month M is the MRR at the last instant of M, i.e. just before
  T = the first instant of M + 1: rows with started_at < T ≤ coalesce(ended_at, ∞). A change
  at exactly midnight on the 1st therefore lands in the month that starts then (a date-only
  import starting on 2025-02-01 is February's new business, and a row ending 2025-03-01 00:00 is
  March's churn), as in ChartMogul, which dates a movement on the day it takes effect.
- For month M, mrr_start is the snapshot of M − 1 and mrr_end the snapshot of M.
- new: start = 0 < end and the account never had a positive month-end snapshot before M;
  reactivation: the same but it had one; expansion: 0 < start < end; contraction:
  0 < end < start; churn: start > 0 = end, amount = start. Each account has at most one
  movement per month (an upgrade and a downgrade in the same month net out), so
  start + new + expansion + reactivation − contraction − churn = end holds per account and month.

Two forms of the same definitions: the long one (`account_mrr_by_month`, one row per account
and covered month; `account_mrr_movements`, `monthly_mrr_movements`), which the cohorts build
on, and the wide one (`account_month_ends`, one row per account with a column per month-end;
`monthly_mrr_bridge`, one row with every month's figures), which computes a whole series in a
single query without expanding rows to months — the one `metrics.movements` runs. MRR is
assumed non-negative (a month-end snapshot is positive iff a paying row covers it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from tenure.accounts.mrr import converted_mrr, in_force

MOVEMENT_COLUMNS = ("new", "expansion", "contraction", "churn", "reactivation")


def month_start(index: int) -> datetime:
    """Return the first instant (naive UTC) of the month with this index."""
    return datetime(index // 12, index % 12 + 1, 1)


def subscriptions_in_reporting_currency(
    subscriptions: ir.Table, *, factors: Mapping[str, float]
) -> ir.Table:
    """Return the subscriptions with mrr in reporting-currency minor units (rounded half up).

    The conversion is `tenure.accounts.mrr.converted_mrr`, the one every MRR consumer uses.
    """
    return subscriptions.mutate(
        mrr=converted_mrr(subscriptions.mrr, subscriptions.currency, factors)
    )


def _month_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1


def subscription_month_spans(subscriptions: ir.Table) -> ir.Table:
    """Return account_id, mrr, first_month, last_month: the month-ends each row covers.

    A row covers the end of month m iff started_at < T(m) ≤ ended_at with T(m) the first
    instant of m + 1, i.e. month(started_at) ≤ m ≤ month(ended_at) − 1 (open rows: no end).
    """
    t = subscriptions
    return t.select(
        "account_id",
        "mrr",
        first_month=_month_index(t.started_at),
        last_month=_month_index(t.ended_at) - 1,
    )


def account_mrr_by_month(subscriptions: ir.Table, *, months: Sequence[int]) -> ir.Table:
    """Return account_id, month, mrr: each account's month-end MRR where a row covers it."""
    low, high = min(months), max(months)
    spans = subscription_month_spans(subscriptions)
    clipped = spans.select(
        "account_id",
        "mrr",
        lo=ibis.greatest(spans.first_month, low),
        hi=ibis.least(spans.last_month.fill_null(high), high),
    )
    clipped = clipped.filter(clipped.lo <= clipped.hi)
    grid = ibis.memtable({"month": sorted({int(m) for m in months})}, schema={"month": "int64"})
    covered = clipped.join(grid, [clipped.lo <= grid.month, grid.month <= clipped.hi])
    return covered.group_by(["account_id", "month"]).aggregate(mrr=covered.mrr.sum())


def account_first_paid_month(subscriptions: ir.Table) -> ir.Table:
    """Return account_id, first_paid_month: the first month whose end snapshot has MRR > 0."""
    spans = subscription_month_spans(subscriptions)
    paid = spans.filter(
        (spans.mrr > 0) & (spans.last_month.isnull() | (spans.first_month <= spans.last_month))
    )
    return paid.group_by("account_id").aggregate(first_paid_month=paid.first_month.min())


def account_mrr_movements(subscriptions: ir.Table, *, months: Sequence[int]) -> ir.Table:
    """Return per account and month: mrr_start, mrr_end and the five movement amounts."""
    months = sorted(int(m) for m in months)
    snapshot_months = sorted({m - 1 for m in months} | set(months))
    mrr = account_mrr_by_month(subscriptions, months=snapshot_months)
    paid = mrr.filter(mrr.mrr > 0)
    zero = ibis.literal(0, "int64")
    ends = paid.select("account_id", "month", mrr_start=zero, mrr_end=paid.mrr)
    starts = paid.select("account_id", month=paid.month + 1, mrr_start=paid.mrr, mrr_end=zero)
    both = ends.union(starts, distinct=False)
    both = both.filter(both.month.isin(months))
    both = both.group_by(["account_id", "month"]).aggregate(
        mrr_start=both.mrr_start.sum(), mrr_end=both.mrr_end.sum()
    )
    first = account_first_paid_month(subscriptions).view()
    joined = both.left_join(first, both.account_id == first.account_id).drop("account_id_right")
    return joined.mutate(**_movement_amounts(joined)).drop("first_paid_month")


def _movement_amounts(t: ir.Table) -> dict[str, Any]:
    start, end = t.mrr_start, t.mrr_end
    arrives = (start == 0) & (end > 0)
    paid_before = t.first_paid_month.notnull() & (t.first_paid_month < t.month)
    zero = ibis.literal(0, "int64")
    return {
        "new": ibis.ifelse(arrives & ~paid_before, end, zero),
        "reactivation": ibis.ifelse(arrives & paid_before, end, zero),
        "expansion": ibis.ifelse((start > 0) & (end > start), end - start, zero),
        "contraction": ibis.ifelse((end > 0) & (end < start), start - end, zero),
        "churn": ibis.ifelse((start > 0) & (end == 0), start, zero),
    }


def monthly_mrr_movements(account_movements: ir.Table) -> ir.Table:
    """Return per month: MRR start/end, the five movements and customer counts."""
    t = account_movements
    return t.group_by("month").aggregate(
        mrr_start=t.mrr_start.sum(),
        mrr_end=t.mrr_end.sum(),
        **{name: t[name].sum() for name in MOVEMENT_COLUMNS},
        customers_start=(t.mrr_start > 0).sum(),
        customers_end=(t.mrr_end > 0).sum(),
        new_customers=(t.new > 0).sum(),
        reactivated_customers=(t.reactivation > 0).sum(),
        churned_customers=(t.churn > 0).sum(),
    )


def accounts_paid_before(subscriptions: ir.Table, month: int) -> ir.Table:
    """Return account_id of the accounts whose first paid month-end is before month.

    That is a row with mrr > 0 starting before month that covers its own first month-end
    (the end of the month it starts in): it ends after that month, or never.
    """
    t = subscriptions
    boundary = month_start(month)
    covers_first = (
        t.ended_at.isnull()
        | (t.ended_at >= boundary)
        | (t.ended_at >= t.started_at + ibis.interval(days=31))  # cheap sufficient test first
        | (_month_index(t.ended_at) > _month_index(t.started_at))
    )
    paid = t.filter(t.mrr > 0, t.started_at < boundary, covers_first)
    return paid.select("account_id").distinct()


def month_end_column(month: int) -> str:
    """Return the name of the month-end MRR column of month in `account_month_ends`."""
    return f"mrr_{month}"


FLOAT_EXACT_LIMIT = 2**53  # integers below this add exactly in float64, in any order


def _sum(value: ir.IntegerValue, float_sums: bool) -> ir.IntegerValue:
    """Return the int64 sum of value, accumulated in float64 when float_sums (faster)."""
    if float_sums:
        return value.cast("float64").sum().cast("int64")
    return value.sum().cast("int64")


def account_month_ends(
    subscriptions: ir.Table, *, first: int, last: int, float_sums: bool = False
) -> ir.Table:
    """Return one row per account with a row live in first … last, in one pass (wide).

    Columns: account_id; mrr_<m> (`month_end_column`), the month-end MRR for every m in
    first … last (0 where nothing covers it); first_paid_month clipped to the range: `first`
    if the account had a paid month-end at or before first, else the first m with mrr_<m> > 0,
    else NULL. (A month-end snapshot is positive iff a row with mrr > 0 covers it, mrr ≥ 0.)
    So first_paid_month < M tells "paid before M" exactly for every M in first + 1 … last.
    One scan and one aggregate per account: no expansion to account × month rows, no join
    against a months table, no pass per month.

    float_sums accumulates the sums in float64, which DuckDB aggregates faster than its 128-bit
    integer sums; the results are still exact integers provided the sum of |mrr| over all the
    rows is below FLOAT_EXACT_LIMIT (the caller checks; `tenure.metrics.movements` does).
    """
    t = subscriptions
    months = range(first, last + 1)
    live = t.filter(
        t.started_at < month_start(last + 1),
        t.ended_at.isnull() | (t.ended_at >= month_start(first + 1)),
    )
    spans = subscription_month_spans(live)
    spans = spans.mutate(
        mrr=spans.mrr.cast("float64") if float_sums else spans.mrr,  # cast once per row
        last_month=spans.last_month.fill_null(last),
    )
    zero = ibis.literal(0.0 if float_sums else 0, spans.mrr.type())
    ends = spans.group_by("account_id").aggregate(
        **{
            month_end_column(m): ibis.ifelse(
                (spans.first_month <= m) & (spans.last_month >= m), spans.mrr, zero
            )
            .sum()
            .cast("int64")
            for m in months
        }
    )
    history = accounts_paid_before(t, first).view()
    joined = ends.left_join(history, ends.account_id == history.account_id)
    first_paid = ibis.cases(
        (history.account_id.notnull(), first),
        *((ends[month_end_column(m)] > 0, m) for m in months),
        else_=ibis.null("int64"),
    )
    return joined.select(
        ends.account_id,
        *(ends[month_end_column(m)] for m in months),
        first_paid_month=first_paid.cast("int64"),
    )


def bridge_column(name: str, month: int) -> str:
    """Return the name of one month's figure in the one-row `monthly_mrr_bridge`."""
    return f"{name}_{month}"


def monthly_mrr_bridge(
    subscriptions: ir.Table, *, months: Sequence[int], float_sums: bool = False
) -> ir.Table:
    """Return ONE row with every month's bridge: `bridge_column(figure, month)` columns.

    The figures are those of `monthly_mrr_movements` (MRR start/end, the five movements,
    customer counts), computed from `account_month_ends` over min(months) − 1 … max(months)
    in a single query with no per-month pass: one scan of the subscriptions, one aggregate per
    account, one final aggregate. Sums over no accounts are NULL. float_sums: see
    `account_month_ends`.
    """
    months = sorted({int(m) for m in months})
    a = account_month_ends(
        subscriptions, first=months[0] - 1, last=months[-1], float_sums=float_sums
    )
    zero = ibis.literal(0, "int64")
    figures: dict[str, Any] = {}
    for m in months:
        start, end = a[month_end_column(m - 1)], a[month_end_column(m)]
        arrives = (start == 0) & (end > 0)
        paid_before = a.first_paid_month.notnull() & (a.first_paid_month < m)
        new = arrives & ~paid_before
        reactivation = arrives & paid_before
        churn = (start > 0) & (end == 0)
        amounts = {
            "mrr_start": start,
            "mrr_end": end,
            "new": ibis.ifelse(new, end, zero),
            "expansion": ibis.ifelse((start > 0) & (end > start), end - start, zero),
            "contraction": ibis.ifelse((end > 0) & (end < start), start - end, zero),
            "churn": ibis.ifelse(churn, start, zero),
            "reactivation": ibis.ifelse(reactivation, end, zero),
        }
        counts = {
            "customers_start": start > 0,
            "customers_end": end > 0,
            "new_customers": new,
            "reactivated_customers": reactivation,
            "churned_customers": churn,
        }
        column = {name: _sum(value, float_sums) for name, value in amounts.items()}
        column |= {name: _sum(flag.cast("int64"), float_sums) for name, flag in counts.items()}
        figures |= {bridge_column(name, m): value for name, value in column.items()}
    return a.aggregate(**figures)


def account_mrr_by_day(subscriptions: ir.Table, *, days: Sequence[date]) -> ir.Table:
    """Return account_id, day, mrr: each account's MRR at the last instant of each day.

    A row counts on day D iff started_at < T ≤ ended_at (open rows: no end) with T the first
    instant of D + 1 — the month-end snapshot convention, applied to every day
    (`tenure.accounts.mrr.in_force`, the one MRR-in-force rule).
    """
    grid = ibis.memtable({"day": sorted(set(days))}, schema={"day": "date"}).mutate(
        instant=lambda g: (g.day + ibis.interval(days=1)).cast("timestamp")
    )
    t = subscriptions
    live = t.join(grid, [in_force(t.started_at, t.ended_at, grid.instant)])
    return live.group_by(["account_id", "day"]).aggregate(mrr=live.mrr.sum())
