"""Monthly MRR movements and the month summary, computed from a subscriptions table.

The heavy work (snapshots, per-account movements, month totals) runs as Ibis expressions in an
in-memory DuckDB connection over an Arrow table of subscriptions (`warehouse.stages.metrics`),
so a read-only report never takes the warehouse writer lock; the same stages run on the
warehouse or Spark unchanged. The month's ratios are the pure functions of `formulas`.
Money comes out in major units of the reporting currency, rates as fractions.

Speed (bench/metrics.py): every month of a series comes from ONE query
(`stages.metrics.monthly_mrr_bridge`: one scan, one aggregate per account, one final
aggregate); its Ibis expression is compiled to SQL once per process for given months and
currency factors (`bridge_sql`), and the Arrow table is registered zero-copy, in record
batches the engine scans in parallel, on a per-thread in-memory DuckDB connection.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

import duckdb
import ibis
import pyarrow as pa
import pyarrow.compute as pc

from tenure.metrics import formulas
from tenure.metrics.currency import FX_RATES, minor_unit_factors, to_major_units
from tenure.metrics.months import month_text
from tenure.warehouse.connection import configure
from tenure.warehouse.stages.metrics import (
    FLOAT_EXACT_LIMIT,
    MOVEMENT_COLUMNS,
    bridge_column,
    monthly_mrr_bridge,
    subscriptions_in_reporting_currency,
)
from tenure.warehouse.stages.subscriptions import naive_utc

LTV_WINDOW = 6  # months of logo churn averaged for LTV, as ChartMogul does
MONEY_KEYS = ("mrr_start", "mrr_end", *MOVEMENT_COLUMNS)
SUBSCRIPTION_SCHEMA = pa.schema(
    [
        ("account_id", pa.int64()),
        ("mrr", pa.int64()),
        ("currency", pa.string()),
        ("started_at", pa.timestamp("us")),
        ("ended_at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class MonthMovements:
    """One month's MRR bridge in reporting-currency minor units, with customer counts."""

    month: int
    mrr_start: int = 0
    mrr_end: int = 0
    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    reactivation: int = 0
    customers_start: int = 0
    customers_end: int = 0
    new_customers: int = 0
    reactivated_customers: int = 0
    churned_customers: int = 0

    def reconciles(self) -> bool:
        """Tell whether start + new + expansion + reactivation − contraction − churn = end."""
        return formulas.reconciles(
            self.mrr_start,
            self.mrr_end,
            new=self.new,
            expansion=self.expansion,
            contraction=self.contraction,
            churn=self.churn,
            reactivation=self.reactivation,
        )


def subscriptions_table(records: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Return an Arrow subscriptions table from dicts with the SUBSCRIPTION_SCHEMA fields."""
    rows = [
        {
            "account_id": int(r["account_id"]),
            "mrr": int(r["mrr"]),
            "currency": str(r["currency"]).upper(),
            "started_at": naive_utc(r["started_at"]),
            "ended_at": naive_utc(r.get("ended_at")),
        }
        for r in records
    ]
    return pa.Table.from_pylist(rows, schema=SUBSCRIPTION_SCHEMA)


def connect_engine() -> Any:
    """Return an Ibis backend on a fresh in-memory DuckDB configured like the warehouse."""
    con = duckdb.connect()
    configure(con)
    return ibis.duckdb.from_connection(con)


SCAN_BATCH = 122_880  # rows per Arrow record batch handed to the engine (DuckDB's row group)
INPUT_VIEW = "tenure_movements_subscriptions"  # the Arrow table's name inside the engine
FIGURES = tuple(f.name for f in fields(MonthMovements) if f.name != "month")


@functools.lru_cache(maxsize=64)
def bridge_sql(
    months: tuple[int, ...], factors: tuple[tuple[str, float], ...], float_sums: bool = False
) -> str:
    """Return the DuckDB SQL of `monthly_mrr_bridge` over INPUT_VIEW (compiled once, cached).

    Building and compiling the Ibis expression costs about as much as running it on a million
    rows, and depends only on the months and the currency factors, so it is done once per
    process for each such pair; the data itself is bound at run time by the view name.
    """
    schema = ibis.Schema.from_pyarrow(SUBSCRIPTION_SCHEMA)
    source = ibis.table(schema, name=INPUT_VIEW)
    table = subscriptions_in_reporting_currency(source, factors=dict(factors))
    bridge = monthly_mrr_bridge(table, months=months, float_sums=float_sums)
    return str(ibis.to_sql(bridge, dialect="duckdb"))


_ENGINE = threading.local()


def _duckdb_connection(backend: Any) -> duckdb.DuckDBPyConnection | None:
    """Return backend's DuckDB connection, this thread's in-memory one, or None (not DuckDB)."""
    if backend is None:
        con = getattr(_ENGINE, "con", None)
        if con is None:
            con = _ENGINE.con = duckdb.connect()
            configure(con)
        return con
    con = getattr(backend, "con", backend)
    return con if isinstance(con, duckdb.DuckDBPyConnection) else None


def _run_bridge(sql: str, data: pa.Table, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Return the one-row bridge as {column: value}, data registered as INPUT_VIEW meanwhile."""
    con.register(INPUT_VIEW, data)
    try:
        result = con.sql(sql)
        names, row = result.columns, result.fetchone()
    finally:
        con.unregister(INPUT_VIEW)
    return dict(zip(names, row or (), strict=True))


def monthly_movements(
    subscriptions: pa.Table,
    months: Sequence[int],
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
    backend: Any = None,
) -> list[MonthMovements]:
    """Return the MRR bridge of each month (in order), in reporting-currency minor units.

    One query computes every month at once (`stages.metrics.monthly_mrr_bridge`) over the
    Arrow table, registered zero-copy in the engine.
    """
    wanted = sorted(int(m) for m in months)
    if not wanted:
        return []
    currencies = pc.unique(subscriptions["currency"]).to_pylist()
    factors = minor_unit_factors([c for c in currencies if c], currency, rates)
    # Float sums are exact while every partial sum stays below 2**53: bound the total of |mrr|
    # in the reporting currency (+ 1 per row for the rounding half up) by rows × the largest.
    largest = pc.max(pc.abs(subscriptions["mrr"])).as_py() or 0
    bound = (largest * max(factors.values(), default=1.0) + 1) * subscriptions.num_rows
    float_sums = bound < FLOAT_EXACT_LIMIT
    data = subscriptions.select(SUBSCRIPTION_SCHEMA.names).cast(SUBSCRIPTION_SCHEMA)
    con = _duckdb_connection(backend)
    if con is None:  # another Ibis backend: run the same expression through it
        table = subscriptions_in_reporting_currency(ibis.memtable(data), factors=factors)
        bridge = monthly_mrr_bridge(table, months=wanted, float_sums=float_sums)
        found = backend.to_pyarrow(bridge).to_pylist()[0]
    else:
        # Zero-copy slices: the engine scans an Arrow table one record batch per thread.
        batches = data.to_batches(max_chunksize=SCAN_BATCH)
        sql = bridge_sql(
            tuple(sorted(set(wanted))), tuple(sorted(factors.items())), float_sums=float_sums
        )
        found = _run_bridge(sql, pa.Table.from_batches(batches, SUBSCRIPTION_SCHEMA), con)
    return [
        MonthMovements(month=m, **{k: int(found.get(bridge_column(k, m)) or 0) for k in FIGURES})
        for m in wanted
    ]


def month_figures(series: Sequence[MonthMovements], currency: str) -> dict[str, Any]:
    """Return the last month's summary; LTV uses the logo churn of the trailing six months."""
    m = series[-1]
    churn_rates = [
        formulas.logo_churn_rate(x.churned_customers, x.customers_start)
        for x in series[-LTV_WINDOW:]
    ]
    arpa = formulas.arpa(m.mrr_end, m.customers_end)
    ltv = formulas.ltv(arpa, formulas.trailing_mean(churn_rates, LTV_WINDOW))
    figures: dict[str, Any] = {"month": month_text(m.month), "currency": currency}
    figures |= {k: to_major_units(v, currency) for k, v in asdict(m).items() if k in MONEY_KEYS}
    figures |= {
        "customers_start": m.customers_start,
        "customers_end": m.customers_end,
        "new_customers": m.new_customers,
        "reactivated_customers": m.reactivated_customers,
        "churned_customers": m.churned_customers,
        "logo_churn_rate": churn_rates[-1],
        "gross_mrr_churn_rate": formulas.gross_mrr_churn_rate(m.churn, m.contraction, m.mrr_start),
        "net_mrr_churn_rate": formulas.net_mrr_churn_rate(
            m.churn, m.contraction, m.expansion, m.reactivation, m.mrr_start
        ),
        "grr": formulas.grr(m.churn, m.contraction, m.mrr_start),
        "nrr": formulas.nrr(m.churn, m.contraction, m.expansion, m.mrr_start),
        "arpa": None if arpa is None else to_major_units(round(arpa), currency),
        "ltv": None if ltv is None else to_major_units(round(ltv), currency),
        "quick_ratio": formulas.quick_ratio(
            m.new, m.expansion, m.reactivation, m.churn, m.contraction
        ),
    }
    return figures


def movements_report(
    subscriptions: pa.Table,
    first: int,
    last: int,
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
    backend: Any = None,
) -> list[dict[str, Any]]:
    """Return one summary per month from first to last (each with its trailing-6-month LTV).

    backend: an Ibis backend to run the bridge on (Spark); None for the in-memory DuckDB.
    """
    lead = LTV_WINDOW - 1
    months = list(range(first - lead, last + 1))
    series = monthly_movements(
        subscriptions, months, currency=currency, rates=rates, backend=backend
    )
    return [month_figures(series[: i + 1], currency) for i in range(lead, len(series))]


def month_summary(
    subscriptions: pa.Table,
    month: int,
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
) -> dict[str, Any]:
    """Return the summary figures of one month."""
    return movements_report(subscriptions, month, month, currency=currency, rates=rates)[0]
