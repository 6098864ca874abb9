"""Copy the app-DB entities that churn features need into Arrow, and register them on DuckDB.

Subscriptions, invoices, tickets and survey responses live in the app DB; events live in the
warehouse. Feature building reads all of them through one DuckDB connection, so the app-DB rows
are registered on it as Arrow views (nothing is written to the warehouse file).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, select

from tenure.accounts.models import Account, Invoice, SurveyResponse, Ticket
from tenure.config import Settings
from tenure.metrics.currency import minor_unit_factors, settings_rates
from tenure.warehouse.stages.subscriptions import app_db_subscriptions, naive_utc

# View names registered on the DuckDB connection while features are built.
SUBSCRIPTIONS_VIEW = "churn_src_subscriptions"
INVOICES_VIEW = "churn_src_invoices"
TICKETS_VIEW = "churn_src_tickets"
SURVEYS_VIEW = "churn_src_surveys"
ACCOUNTS_VIEW = "churn_src_accounts"

MAX_ATTRIBUTE_LEVELS = 20  # an account attribute with more distinct values is not a category
_TS = pa.timestamp("us")


def _rows(engine: Engine, columns: Sequence[Any]) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(*columns))]


def _table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Return an Arrow table of rows; aware datetimes become naive UTC."""
    data: dict[str, list[Any]] = {name: [] for name in schema.names}
    times = {f.name for f in schema if pa.types.is_timestamp(f.type)}
    for row in rows:
        for name, value in zip(schema.names, row, strict=True):
            data[name].append(naive_utc(value) if name in times else value)
    return pa.table(data, schema=schema)


def subscriptions_table(engine: Engine, settings: Settings) -> pa.Table:
    """Return subscriptions with MRR in reporting-currency minor units (rounded half up)."""
    subs = app_db_subscriptions(engine)
    currencies = set(subs.column("currency").to_pylist())
    factors = minor_unit_factors(
        currencies, settings.reporting_currency, settings_rates(settings.fx_rates)
    )
    mrr = [
        int(m * factors[c] + 0.5)
        for m, c in zip(
            subs.column("mrr").to_pylist(), subs.column("currency").to_pylist(), strict=True
        )
    ]
    index = subs.schema.get_field_index("mrr")
    return subs.set_column(index, "mrr", pa.array(mrr, pa.int64()))


def invoices_table(engine: Engine) -> pa.Table:
    """Return account_id, status, issued_at, paid_at of every invoice."""
    schema = pa.schema(
        [("account_id", pa.int64()), ("status", pa.string()), ("issued_at", _TS), ("paid_at", _TS)]
    )
    columns = [Invoice.account_id, Invoice.status, Invoice.issued_at, Invoice.paid_at]
    return _table(_rows(engine, columns), schema)


def tickets_table(engine: Engine) -> pa.Table:
    """Return account_id, opened_at, closed_at, priority, csat, subject of every ticket."""
    schema = pa.schema(
        [
            ("account_id", pa.int64()),
            ("opened_at", _TS),
            ("closed_at", _TS),
            ("priority", pa.string()),
            ("csat", pa.int64()),
            ("subject", pa.string()),
        ]
    )
    columns = [
        Ticket.account_id,
        Ticket.opened_at,
        Ticket.closed_at,
        Ticket.priority,
        Ticket.csat,
        Ticket.subject,
    ]
    return _table(_rows(engine, columns), schema)


def surveys_table(engine: Engine) -> pa.Table:
    """Return account_id, kind, score, responded_at of every survey response."""
    schema = pa.schema(
        [
            ("account_id", pa.int64()),
            ("kind", pa.string()),
            ("score", pa.int64()),
            ("responded_at", _TS),
        ]
    )
    columns = [
        SurveyResponse.account_id,
        SurveyResponse.kind,
        SurveyResponse.score,
        SurveyResponse.responded_at,
    ]
    return _table(_rows(engine, columns), schema)


def category_attributes(attributes: list[dict[str, Any]]) -> list[str]:
    """Return the attribute keys that look categorical: text, on most accounts, few levels."""
    counts: Counter[str] = Counter()
    levels: dict[str, set[str]] = {}
    for attrs in attributes:
        for key, value in (attrs or {}).items():
            if isinstance(value, str) and value:
                counts[key] += 1
                levels.setdefault(key, set()).add(value)
    half = len(attributes) / 2
    return sorted(
        k for k, n in counts.items() if n >= half and 2 <= len(levels[k]) <= MAX_ATTRIBUTE_LEVELS
    )


def accounts_table(engine: Engine, attribute_keys: Sequence[str] | None = None) -> pa.Table:
    """Return account_id, external_id, industry, region and categorical attributes (attr_KEY)."""
    columns = [
        Account.id,
        Account.external_id,
        Account.industry,
        Account.region,
        Account.attributes,
    ]
    rows = _rows(engine, columns)
    keys = category_attributes([r[4] for r in rows]) if attribute_keys is None else attribute_keys
    data: dict[str, list[Any]] = {
        "account_id": [r[0] for r in rows],
        "external_id": [r[1] for r in rows],
        "industry": [r[2] for r in rows],
        "region": [r[3] for r in rows],
    }
    for key in keys:
        data[f"attr_{key}"] = [_text((r[4] or {}).get(key)) for r in rows]
    schema = pa.schema(
        [("account_id", pa.int64())] + [(name, pa.string()) for name in list(data)[1:]]
    )
    return pa.table(data, schema=schema)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def register_sources(con: Any, engine: Engine, settings: Settings) -> dict[str, int]:
    """Register the app-DB entities on a DuckDB connection; return their row counts."""
    tables = {
        SUBSCRIPTIONS_VIEW: subscriptions_table(engine, settings),
        INVOICES_VIEW: invoices_table(engine),
        TICKETS_VIEW: tickets_table(engine),
        SURVEYS_VIEW: surveys_table(engine),
        ACCOUNTS_VIEW: accounts_table(engine),
    }
    for name, table in tables.items():
        con.register(name, table)
    return {name: table.num_rows for name, table in tables.items()}
