"""Read the app-DB subscriptions (the MRR history, with account fields) into Arrow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, select

from tenure.accounts.models import Account, Subscription

APP_SUBSCRIPTION_SCHEMA = pa.schema(
    [
        ("subscription_id", pa.int64()),
        ("account_id", pa.int64()),
        ("account_external_id", pa.string()),
        ("account_created_at", pa.timestamp("us")),
        ("plan", pa.string()),
        ("status", pa.string()),
        ("mrr", pa.int64()),
        ("currency", pa.string()),
        ("quantity", pa.int64()),
        ("billing_interval", pa.string()),
        ("started_at", pa.timestamp("us")),
        ("ended_at", pa.timestamp("us")),
    ]
)
_TIMES = {"account_created_at", "started_at", "ended_at"}


def naive_utc(value: datetime | None) -> datetime | None:
    """Return a timestamp as naive UTC (aware values are converted, naive taken as UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def app_db_subscriptions(engine: Engine) -> pa.Table:
    """Return every app-DB subscription row with its account's external_id and created_at."""
    columns = [
        Subscription.id,
        Subscription.account_id,
        Account.external_id,
        Account.created_at,
        Subscription.plan,
        Subscription.status,
        Subscription.mrr,
        Subscription.currency,
        Subscription.quantity,
        Subscription.billing_interval,
        Subscription.started_at,
        Subscription.ended_at,
    ]
    query = select(*columns).join(Account, Account.id == Subscription.account_id)
    names = APP_SUBSCRIPTION_SCHEMA.names
    data: dict[str, list[Any]] = {name: [] for name in names}
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(Subscription.id)):
            for name, value in zip(names, row, strict=True):
                data[name].append(naive_utc(value) if name in _TIMES else value)
    return pa.table(data, schema=APP_SUBSCRIPTION_SCHEMA)
