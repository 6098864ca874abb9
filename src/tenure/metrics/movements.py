"""Monthly MRR movements and the month summary, computed from a subscriptions table.

The heavy work (snapshots, per-account movements, month totals) runs as Ibis expressions in an
in-memory DuckDB connection over an Arrow table of subscriptions (`warehouse.stages.metrics`),
so a read-only report never takes the warehouse writer lock; the same stages run on the
warehouse or Spark unchanged. The month's ratios are the pure functions of `formulas`.
Money comes out in major units of the reporting currency, rates as fractions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
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
    MOVEMENT_COLUMNS,
    account_mrr_movements,
    monthly_mrr_movements,
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


def monthly_movements(
    subscriptions: pa.Table,
    months: Sequence[int],
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
    backend: Any = None,
) -> list[MonthMovements]:
    """Return the MRR bridge of each month (in order), in reporting-currency minor units."""
    currencies = pc.unique(subscriptions["currency"]).to_pylist()
    factors = minor_unit_factors([c for c in currencies if c], currency, rates)
    backend = backend or connect_engine()
    table = subscriptions_in_reporting_currency(ibis.memtable(subscriptions), factors=factors)
    totals = monthly_mrr_movements(account_mrr_movements(table, months=months))
    found = {int(r["month"]): r for r in backend.to_pyarrow(totals).to_pylist()}
    return [
        MonthMovements(**{k: int(v or 0) for k, v in found[m].items()})
        if m in found
        else MonthMovements(month=m)
        for m in sorted(months)
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
) -> list[dict[str, Any]]:
    """Return one summary per month from first to last (each with its trailing-6-month LTV)."""
    lead = LTV_WINDOW - 1
    months = list(range(first - lead, last + 1))
    series = monthly_movements(subscriptions, months, currency=currency, rates=rates)
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
