"""MRR as of any day: per account per day, and the book's daily totals (paying customers, ARPA).

Computed by `stages.metrics.account_mrr_by_day` (an Ibis expression: one join of the rows with
a grid of days, one aggregate) over the subscriptions in reporting-currency minor units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from tenure.metrics.currency import FX_RATES, minor_unit_factors, to_major_units
from tenure.metrics.movements import connect_engine
from tenure.warehouse.stages.metrics import account_mrr_by_day, subscriptions_in_reporting_currency


def daily_account_mrr(
    subscriptions: pa.Table,
    days: Sequence[date],
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
    account_ids: Sequence[int] | None = None,
) -> pa.Table:
    """Return account_id, day, mrr (reporting minor units) for accounts paying on each day."""
    currencies = [c for c in pc.unique(subscriptions["currency"]).to_pylist() if c]
    factors = minor_unit_factors(currencies, currency, rates)
    source = ibis.memtable(
        subscriptions.select(["account_id", "mrr", "currency", "started_at", "ended_at"])
    )
    if account_ids is not None:
        source = source.filter(source.account_id.isin(list(account_ids)))
    table = subscriptions_in_reporting_currency(source, factors=factors)
    per_day = account_mrr_by_day(table, days=days)
    per_day = per_day.filter(per_day.mrr > 0).order_by(["day", "account_id"])
    return connect_engine().to_pyarrow(per_day)


def daily_totals(
    per_account: pa.Table, days: Sequence[date], currency: str
) -> list[dict[str, Any]]:
    """Return per day: mrr (major units), paying customers and ARPA (days with none included)."""
    totals = {day: (0, 0) for day in days}
    for row in (
        per_account.group_by("day").aggregate([("mrr", "sum"), ("mrr", "count")]).to_pylist()
    ):
        totals[row["day"]] = (int(row["mrr_sum"]), int(row["mrr_count"]))
    return [
        {
            "day": day.isoformat(),
            "currency": currency,
            "mrr": to_major_units(mrr, currency),
            "customers": customers,
            "arpa": None if customers == 0 else to_major_units(round(mrr / customers), currency),
        }
        for day, (mrr, customers) in sorted(totals.items())
    ]
