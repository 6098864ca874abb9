"""MRR in force: the one definition every consumer (API, dashboard, health, segments, metrics) uses.

The rule (ChartMogul's month-end snapshot convention, applied to any day):

- An account's MRR in force on day D is its MRR at the last instant of D. With T = D + 1 day at
  00:00 UTC (`instant_after`), a subscription row counts iff
  ``started_at < T AND (ended_at IS NULL OR ended_at >= T)``: a row starting at exactly 00:00
  on D + 1 belongs to D + 1, a row ending at exactly 00:00 on D + 1 still counts on D (its
  last instant), so a change at midnight lands on the day that starts then.
- Each row's mrr (integer minor units of its own currency) is converted to reporting-currency
  minor units and rounded half up once per row: ``floor(mrr × factor + 0.5)``, with factor =
  rate(currency) / rate(reporting) × 10^(exponent(reporting) − exponent(currency)) from the fixed
  rates of the settings (`tenure.metrics.currency`). Sums of those integers never drift.

A currency without a configured rate is one documented behaviour everywhere: its rows are left
out of MRR in force (and of every metric), a warning names the currency and the `fx_rates`
setting to add, and `tenure dq report` lists the rows (subscription validity "currency has an
exchange rate"). One odd row never stops a reader: no 5xx, no failed pipeline day. Imports and
the Stripe webhook reject codes that are not ISO 4217 currencies outright.

`in_force` and `converted_mrr` take columns of either SQLAlchemy (app DB) or Ibis (DuckDB
warehouse) and build the same predicate and conversion for both, so the rule is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tenure.logging import get_logger
from tenure.metrics.currency import FX_RATES, minor_unit_factors, missing_rate_text
from tenure.metrics.months import month_of

log = get_logger("accounts.mrr")


def instant_after(day: date) -> datetime:
    """Return T, the first instant (aware UTC) after day: MRR in force on day is MRR just before T."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def _is_sql(column: Any) -> bool:
    return isinstance(column, sa.ColumnElement) or hasattr(column, "__clause_element__")


def in_force(started_at: Any, ended_at: Any, instant: datetime) -> Any:
    """Return the predicate "row live at the last instant before `instant`" (SQLAlchemy or Ibis).

    Pass `instant_after(day)` for the MRR in force on day; `instant` must be naive for naive
    warehouse timestamps and aware for the app DB.
    """
    still_open = ended_at.is_(None) if _is_sql(ended_at) else ended_at.isnull()
    return (started_at < instant) & (still_open | (ended_at >= instant))


def conversion_factors(
    currencies: Iterable[str], reporting: str, rates: Mapping[str, Decimal] = FX_RATES
) -> dict[str, float]:
    """Return minor-unit factors per rated currency; warn about (and leave out) the others."""
    wanted = {c.upper() for c in currencies if c}
    unrated = sorted(c for c in wanted if c not in rates)
    if unrated:
        log.warning(
            "subscriptions left out of MRR in force (listed by `tenure dq report`): "
            + missing_rate_text(unrated, rates)
        )
    return minor_unit_factors(wanted - set(unrated), reporting, rates)


def priced(currency: Any, factors: Mapping[str, float]) -> Any:
    """Return the predicate "row's currency has a rate" (SQLAlchemy or Ibis)."""
    codes = sorted(factors)
    return currency.in_(codes) if _is_sql(currency) else currency.isin(codes)


def converted_mrr(mrr: Any, currency: Any, factors: Mapping[str, float]) -> Any:
    """Return mrr in reporting-currency minor units, rounded half up per row (SQLAlchemy or Ibis).

    A row whose currency is not in factors gives NULL: filter rows with `priced` first.
    """
    pairs = sorted(factors.items())
    if _is_sql(mrr):
        factor = sa.case(*((currency == code, value) for code, value in pairs), else_=sa.null())
        return sa.cast(sa.func.floor(mrr * factor + 0.5), sa.BigInteger)
    factor = currency.cases(*pairs, else_=None)
    return (mrr.cast("float64") * factor + 0.5).floor().cast("int64")


def month_end_days(today: date, months: int) -> list[tuple[int, date]]:
    """Return (month index, last day) of the `months` complete months before today's."""
    current = month_of(datetime(today.year, today.month, 1, tzinfo=UTC))
    return [
        (i, date((i + 1) // 12, (i + 1) % 12 + 1, 1) - timedelta(days=1))
        for i in range(current - months, current)
    ]
