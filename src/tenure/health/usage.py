"""Health's warehouse inputs as Ibis expressions: the same on DuckDB and on Spark.

`events` is any table with account_id, name, contact_external_id and ts (naive UTC); a `day`
column (the Spark Parquet partitions) is filtered too, so Spark reads only the days needed.
Windows end at T = the end of the as-of day (`inputs.end_of`): usage reads [T − 60 d, T),
logins [T − 365 d, T). The post-processing (`usage_frame`) is shared, so both engines give the
same frame: one row per account with events or logins, counts, distinct features and users,
the last login (aware UTC) and, for the real-time baseline, the 29-day sets as JSON arrays.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

LOGIN_LOOKBACK_DAYS = 365
USAGE_DAYS = 60


def end_naive(day: date) -> datetime:
    """Return T, the first instant after day, as a naive UTC timestamp."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time())


def between(events: ir.Table, start: datetime, end: datetime) -> ir.Table:
    """Return the events in [start, end), pruning day partitions when the table has them."""
    kept = events.filter(events.ts >= start, events.ts < end)
    if "day" in events.columns:
        kept = kept.filter(kept.day >= start.date(), kept.day <= end.date())
    return kept


def duckdb_events(backend: Any, table: str) -> ir.Table:
    """Return the warehouse events with ts as a naive UTC timestamp (the session zone is UTC)."""
    raw = backend.table(table)
    return raw.select("account_id", "name", "contact_external_id", ts=raw.ts.cast("timestamp"))


def usage_expr(events: ir.Table, day: date, *, with_base: bool = False) -> ir.Table:
    """Return per-account event counts, distinct features and users (and the 29-day base)."""
    end = end_naive(day)
    d30 = end - timedelta(days=30)
    t = between(events, end - timedelta(days=USAGE_DAYS), end)
    recent = t.ts >= d30
    metrics = {
        "events_30d": t.count(where=recent),
        "events_prev_30d": t.count(where=~recent),
        "features_30d": t.name.nunique(where=recent),
        "users_30d": t.contact_external_id.nunique(where=recent),
    }
    if with_base:
        d29, d59 = end - timedelta(days=29), end - timedelta(days=59)
        base = t.ts >= d29
        metrics |= {
            "base_recent": t.count(where=base),
            "base_previous": t.count(where=(t.ts >= d59) & (t.ts < d29)),
            "base_features": t.name.collect(where=base, distinct=True),
            "base_users": t.contact_external_id.collect(
                where=base & t.contact_external_id.notnull(), distinct=True
            ),
        }
    return t.group_by("account_id").aggregate(**metrics)


def logins_expr(events: ir.Table, day: date, logins: list[str]) -> ir.Table:
    """Return account_id, last_login_at: each account's latest login in the lookback."""
    end = end_naive(day)
    t = between(events, end - timedelta(days=LOGIN_LOOKBACK_DAYS), end)
    t = t.filter(t.name.isin(logins)) if logins else t.filter(ibis.literal(False))
    return t.group_by("account_id").aggregate(last_login_at=t.ts.max())


def flags_expr(events: ir.Table, day: date, logins: list[str]) -> ir.Table:
    """Return one row: whether the lookback's events carry logins and contact ids at all."""
    end = end_naive(day)
    t = between(events, end - timedelta(days=LOGIN_LOOKBACK_DAYS), end)
    has_logins = t.name.isin(logins) if logins else ibis.literal(False)
    return t.aggregate(
        login_recency=has_logins.any(), seat_utilisation=t.contact_external_id.notnull().any()
    )


def active_expr(events: ir.Table, day: date, days: int) -> ir.Table:
    """Return the distinct accounts with an event in the `days` days up to day."""
    end = end_naive(day)
    t = between(events, end - timedelta(days=days), end)
    return t.select("account_id").distinct()


def _json_set(values: Any) -> str:
    """Return a list of distinct values as a sorted JSON array (empty for none)."""
    items = [] if values is None else [v for v in values if v is not None]
    return json.dumps(sorted(set(items)), separators=(",", ":"))


def usage_frame(usage: pd.DataFrame, logins: pd.DataFrame, with_base: bool) -> pd.DataFrame:
    """Return usage and last logins merged on the account (outer), last_login_at aware UTC."""
    if with_base:
        for column in ("base_features", "base_users"):
            usage[column] = [_json_set(v) for v in usage[column]]
    stamps = pd.to_datetime(logins["last_login_at"])
    logins["last_login_at"] = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps
    return usage.merge(logins, on="account_id", how="outer")


def run_usage(
    backend: Any, events: ir.Table, day: date, logins: list[str], *, with_base: bool = False
) -> pd.DataFrame:
    """Run the usage and login expressions on backend and return the merged frame."""
    usage = backend.to_pyarrow(usage_expr(events, day, with_base=with_base)).to_pandas()
    last = backend.to_pyarrow(logins_expr(events, day, logins)).to_pandas()
    return usage_frame(usage, last, with_base)


def run_flags(backend: Any, events: ir.Table, day: date, logins: list[str]) -> dict[str, bool]:
    """Return the population flags (login_recency, seat_utilisation) computed on backend."""
    row = backend.to_pyarrow(flags_expr(events, day, logins)).to_pylist()[0]
    return {k: bool(v) for k, v in row.items()}


def run_active(backend: Any, events: ir.Table, day: date, days: int) -> list[int]:
    """Return the ids of the accounts active in the `days` days up to day, ascending."""
    found = backend.to_pyarrow(active_expr(events, day, days))["account_id"].to_pylist()
    return sorted(int(a) for a in found)
