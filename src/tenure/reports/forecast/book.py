"""Read the book's monthly history from the app DB through the metrics engine."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Engine

from tenure.config import Settings
from tenure.errors import InputError
from tenure.metrics.currency import settings_rates, to_major_units
from tenure.metrics.months import last_complete_month, month_text
from tenure.metrics.movements import MONEY_KEYS, monthly_movements
from tenure.metrics.serving import first_paid_month, priced_subscriptions
from tenure.reports.forecast.history import History, history_from_rows
from tenure.reports.forecast.model import MIN_MONTHS
from tenure.warehouse.stages.subscriptions import app_db_subscriptions

MAX_HISTORY = 60  # months of history read (the rates use the last 12, ETS the whole series)


def book_history(engine: Engine, settings: Settings, last: int | None = None) -> History:
    """Return the MRR bridge of every complete month since the first paid one (≤ 60)."""
    subscriptions = app_db_subscriptions(engine)
    first = first_paid_month(subscriptions) if subscriptions.num_rows else None
    last = last_complete_month() if last is None else last
    if first is None or last - first + 1 < MIN_MONTHS:
        raise InputError(
            f"the forecast needs {MIN_MONTHS} complete months of subscriptions "
            f"(import subscriptions first; see `tenure import subscriptions`)"
        )
    first = max(first, last - MAX_HISTORY + 1)
    currency = settings.reporting_currency
    series = monthly_movements(
        priced_subscriptions(subscriptions, settings),
        list(range(first, last + 1)),
        currency=currency,
        rates=settings_rates(settings.fx_rates),
    )
    rows = []
    for month in series:
        row = asdict(month)
        rows.append(
            {k: to_major_units(v, currency) if k in MONEY_KEYS else v for k, v in row.items()}
        )
    return history_from_rows([month_text(m.month) for m in series], rows)
