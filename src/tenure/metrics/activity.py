"""Served activity figures: active accounts per month and logo retention by signup cohort.

They follow the churn definition (`tenure.metrics.presence`: an account counts at a
month-end when it pays then, or is judged by inactivity and has an event in the
`inactivity_days` days up to it) and read the warehouse events, opened read-only. They are
computed when the definition is "inactivity", or "auto" on a book without subscriptions; under
"subscription", and under "auto" with subscriptions, the served figures are the MRR ones.
Per month: active_accounts (counted at the month-end), active_accounts_start (at the end of the
month before), retained_accounts (counted at both) and logo_retention = retained ÷ start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tenure.churn.definition import INACTIVITY, ChurnDefinition, churn_definition
from tenure.config import Settings
from tenure.metrics.months import month_of, month_text
from tenure.metrics.presence import (
    account_presence,
    active_accounts_by_month,
    logo_retention_cells,
)
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.spark import parse_url, spark_events, uses_spark

SUBSCRIPTION_COLUMNS = {
    "account_id": "int64",
    "mrr": "int64",
    "started_at": "timestamp",
    "ended_at": "timestamp",
}
ACTIVITY_FIELDS = ("active_accounts", "active_accounts_start", "retained_accounts")
ACTIVITY_FIELDS += ("logo_retention",)
# Figures that need billing data: without subscriptions they are stored as None.
BILLING_FIELDS = (
    "mrr_start", "new", "expansion", "reactivation", "contraction", "churn", "mrr_end",
    "customers_start", "customers_end", "new_customers", "reactivated_customers",
    "churned_customers", "logo_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate",
    "grr", "nrr", "arpa", "ltv", "ltv_survival", "expected_lifetime_months", "quick_ratio",
    "spend", "cac", "cac_payback_months",
)  # fmt: skip


def activity_wanted(definition: ChurnDefinition, subscriptions: pa.Table) -> bool:
    """Return True when the served figures should count accounts by activity."""
    if definition.kind == INACTIVITY:
        return True
    return definition.kind == "auto" and subscriptions.num_rows == 0


def _subscriptions(subscriptions: pa.Table) -> ir.Table:
    columns = subscriptions.select(list(SUBSCRIPTION_COLUMNS))
    return ibis.memtable(columns, schema=SUBSCRIPTION_COLUMNS)


def _events(backend: Any, end: datetime) -> ir.Table:
    raw = backend.table(EVENTS)  # ts is TIMESTAMPTZ; the session time zone is UTC
    events = raw.select(account_id=raw.account_id.cast("int64"), ts=raw.ts.cast("timestamp"))
    return events.filter(events.ts < end)


def _parquet_events(events: ir.Table, end: datetime) -> ir.Table:
    """Return the Spark Parquet events before end (day partitions after it pruned)."""
    kept = events.filter(events.ts < end, events.day <= end.date())
    return kept.select(account_id=kept.account_id.cast("int64"), ts=kept.ts)


def first_data_month(backend: Any, events: ir.Table, subscriptions: pa.Table) -> int | None:
    """Return the month of the earliest event or subscription start (None without any)."""
    starts = [backend.execute(events.ts.min())]
    if subscriptions.num_rows:
        starts.append(min(subscriptions["started_at"].to_pylist()))
    starts = [s for s in starts if s is not None and s == s]  # drop None and NaT
    return month_of(min(starts)) if starts else None


def monthly_activity(presence: ir.Table) -> ir.Table:
    """Return month, active_accounts, retained_accounts (counted at month − 1 and month)."""
    counts = active_accounts_by_month(presence)
    before = presence.select("account_id", month=presence.month + 1)
    kept = presence.join(before, ["account_id", "month"])
    retained = kept.group_by("month").aggregate(retained_accounts=kept.count())
    joined = counts.left_join(retained, counts.month == retained.month)
    return joined.select(
        counts.month,
        counts.active_accounts,
        retained_accounts=retained.retained_accounts.fill_null(0),
    )


def month_rows(counts: dict[int, tuple[int, int]], first: int, last: int) -> dict[int, dict]:
    """Return each month's activity figures from {month: (active, retained)}."""
    rows = {}
    for month in range(first, last + 1):
        active, retained = counts.get(month, (0, 0))
        start = counts.get(month - 1, (0, 0))[0]
        rows[month] = {
            "active_accounts": active,
            "active_accounts_start": start,
            "retained_accounts": retained,
            "logo_retention": round(retained / start, 4) if start else None,
        }
    return rows


def cohort_entries(cells: list[dict[str, Any]], first: int, last: int) -> dict[str, Any]:
    """Return the logo-retention matrix (one entry per cohort) of the cells."""
    cohorts: dict[int, list[dict[str, Any]]] = {}
    for cell in sorted(cells, key=lambda c: (c["cohort"], c["months_since"])):
        cohorts.setdefault(int(cell["cohort"]), []).append(cell)
    entries = [
        {
            "cohort": month_text(cohort),
            "size": int(row[0]["size"]),
            "accounts": [int(c["accounts"]) for c in row],
            "logo": [int(c["accounts"]) / int(row[0]["size"]) for c in row],
        }
        for cohort, row in cohorts.items()
    ]
    width = max((len(e["logo"]) for e in entries), default=0)
    span = {"from": month_text(first), "to": month_text(last)}
    return span | {"cohorts": entries, "months_since": list(range(width))}


def activity_report(
    settings: Settings,
    subscriptions: pa.Table,
    *,
    end: datetime,
    last: int,
    months: int,
    cohort_months: int,
) -> dict[str, Any] | None:
    """Return {"months": {month: figures}, "cohorts": matrix} from events before end.

    Up to `months` months ending with last, cohorts of the last `cohort_months` months; None
    when there is neither an event nor a subscription before end.
    """
    definition = churn_definition(settings)
    if uses_spark(settings):
        backend, parquet = spark_events(parse_url(settings.warehouse_url or ""))
        events = _parquet_events(parquet, end)
        found = _activity(backend, events, subscriptions, definition, last, months, cohort_months)
    else:
        with open_warehouse(settings, read_only=True) as warehouse:
            backend = warehouse.ibis
            events = _events(backend, end)
            found = _activity(
                backend, events, subscriptions, definition, last, months, cohort_months
            )
    if found is None:
        return None
    counted, cell_rows, first, cohort_first = found
    counts = {
        int(r["month"]): (int(r["active_accounts"]), int(r["retained_accounts"])) for r in counted
    }
    report = cohort_entries(cell_rows, cohort_first, last)
    report["churn_definition"] = definition.kind
    return {"months": month_rows(counts, first, last), "cohorts": report}


def _activity(
    backend: Any,
    events: ir.Table,
    subscriptions: pa.Table,
    definition: ChurnDefinition,
    last: int,
    months: int,
    cohort_months: int,
) -> tuple[list[dict], list[dict], int, int] | None:
    """Return the monthly counts, the cohort cells and their first months, run on backend."""
    subs = _subscriptions(subscriptions)
    history = first_data_month(backend, events, subscriptions)
    if history is None or history > last:
        return None
    first = max(history, last - months + 1)
    presence = account_presence(subs, events, range(first - 1, last + 1), definition)
    counted = backend.to_pyarrow(monthly_activity(presence)).to_pylist()
    cohort_first = max(history, last - cohort_months + 1)
    cells = logo_retention_cells(
        subs, events, definition, history_start=history, first=cohort_first, last=last
    )
    return counted, backend.to_pyarrow(cells).to_pylist(), first, cohort_first
