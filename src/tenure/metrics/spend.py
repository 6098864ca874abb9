"""Customer acquisition cost (CAC) and its payback period, from imported marketing spend.

Definitions (as in David Skok, "SaaS Metrics 2.0", For Entrepreneurs, and ChartMogul's
"CAC payback period"):
- CAC = the month's sales and marketing spend ÷ the new customers won that month.
- CAC payback (months) = CAC ÷ (new MRR per new customer × gross margin): how many months of
  a new customer's gross profit repay what it cost to win them. Gross margin comes from the
  `gross_margin` setting (default 0.8).

Spend rows (import kind `spend`) are summed per currency in SQL, then each currency's total is
converted once with the fixed rates table and rounded half up to the reporting minor unit.
A month without spend rows has no CAC (None); neither has one without new customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from tenure.metrics.currency import FX_RATES, minor_unit_factors, to_major_units
from tenure.metrics.models import MarketingSpend
from tenure.metrics.surveys import month_bounds
from tenure.money import minor_exponent


def cac(spend: float, new_customers: int) -> float | None:
    """Return spend ÷ new customers (Skok's CAC; None without new customers)."""
    return None if new_customers == 0 else spend / new_customers


def cac_payback_months(
    cac_value: float | None, new_mrr: float, new_customers: int, gross_margin: float
) -> float | None:
    """Return CAC ÷ (new MRR ÷ new customers × gross margin), in months (None if undefined)."""
    if cac_value is None or new_customers == 0 or new_mrr <= 0 or gross_margin <= 0:
        return None
    return cac_value / (new_mrr / new_customers * gross_margin)


def month_spend(
    engine: Engine,
    month: int,
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
) -> int | None:
    """Return the month's spend in reporting-currency minor units (None when it has no rows)."""
    start, after = month_bounds(month)
    query = (
        sa.select(MarketingSpend.currency, sa.func.sum(MarketingSpend.amount))
        .where(MarketingSpend.month >= start, MarketingSpend.month < after)
        .group_by(MarketingSpend.currency)
    )
    with engine.connect() as conn:
        totals = {code: int(total) for code, total in conn.execute(query)}
    if not totals:
        return None
    factors = minor_unit_factors(totals, currency, rates)
    return sum(math.floor(total * factors[code.upper()] + 0.5) for code, total in totals.items())


def spend_figures(
    engine: Engine,
    month: int,
    summary: Mapping[str, Any],
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
    gross_margin: float = 0.8,
) -> dict[str, Any]:
    """Return `spend`, `cac` and `cac_payback_months` for a month's summary (major units)."""
    minor = month_spend(engine, month, currency=currency, rates=rates)
    if minor is None:
        return {"spend": None, "cac": None, "cac_payback_months": None}
    spend = to_major_units(minor, currency)
    new_customers, new_mrr = int(summary["new_customers"]), float(summary["new"])
    cac_value = cac(spend, new_customers)
    payback = cac_payback_months(cac_value, new_mrr, new_customers, gross_margin)
    return {
        "spend": spend,
        "cac": None if cac_value is None else round(cac_value, minor_exponent(currency)),
        "cac_payback_months": payback,
    }
