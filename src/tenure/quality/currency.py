"""The data-quality finding for subscriptions in a currency without an exchange rate.

The metrics leave such rows out (`tenure.metrics.serving.priced_subscriptions`) instead of
stopping; this finding is where they are listed, so the fix (add the rate to `fx_rates`, or
correct the row) is one `tenure dq report` away.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import Connection, Table, func, select

from tenure.accounts.models import Subscription
from tenure.quality.scoring import Figure, Ratio

RULE = "currency has an exchange rate"
EXAMPLES = 5


def unrated_currency_figures(
    connection: Connection, *, rates: Mapping[str, Decimal]
) -> list[Figure]:
    """List subscriptions whose currency has no exchange rate (left out of the metrics)."""
    table: Table = Subscription.__table__  # type: ignore[assignment]
    code = func.upper(table.c.currency)
    unrated = code.not_in(sorted(rates))
    total = connection.execute(select(func.count()).select_from(table)).scalar_one()
    stmt = (
        select(code, func.count())
        .where(table.c.currency.is_not(None), table.c.currency != "", unrated)
        .group_by(code)
        .order_by(code)
    )
    counts = {currency: int(n) for currency, n in connection.execute(stmt)}
    if not counts:
        return []
    parts = []
    for currency, n in counts.items():
        examples = connection.execute(
            select(table.c.external_id)
            .where(code == currency)
            .order_by(table.c.external_id)
            .limit(EXAMPLES)
        ).scalars()
        more = f", … {n - EXAMPLES} more" if n > EXAMPLES else ""
        parts.append(f"{currency} {n} ({', '.join(map(str, examples))}{more})")
    bad = sum(counts.values())
    detail = (
        f"{bad} subscriptions left out of the metrics, no exchange rate for: {'; '.join(parts)};"
        " add the rate to fx_rates in tenure.toml or correct the rows"
    )
    return [Ratio("subscription", "validity", total - bad, total, detail, rule=RULE)]
