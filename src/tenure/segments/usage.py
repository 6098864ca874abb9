"""Per-account product usage as of a date, read from the warehouse `events` table (read-only)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tenure.config import Settings
from tenure.segments.frame import instant_after
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

USAGE_QUERY = f"""
SELECT account_id,
       count(*) FILTER (WHERE ts >= $recent) AS events_30d,
       count(*) FILTER (WHERE ts < $recent) AS events_prev_30d,
       max(ts) AS last_event_at
FROM {EVENTS}
WHERE ts < $end AND ts >= $previous
GROUP BY account_id
"""
LAST_QUERY = f"SELECT account_id, max(ts) FROM {EVENTS} WHERE ts < $end GROUP BY account_id"


def usage_counts(con: Any, as_of: date) -> dict[int, dict[str, Any]]:
    """Return per account: events in the last 30 days, the 30 before, days since last event."""
    end = instant_after(as_of)
    params = {"end": end, "recent": end - timedelta(days=30), "previous": end - timedelta(days=60)}
    usage: dict[int, dict[str, Any]] = {}
    for account_id, recent, previous, _last in con.execute(USAGE_QUERY, params).fetchall():
        usage[int(account_id)] = {"events_30d": recent, "events_prev_30d": previous}
    for account_id, last in con.execute(LAST_QUERY, {"end": end}).fetchall():
        entry = usage.setdefault(int(account_id), {"events_30d": 0, "events_prev_30d": 0})
        entry["days_since_last_event"] = (end - last).days
    return usage


def warehouse_usage(settings: Settings, as_of: date) -> dict[int, dict[str, Any]]:
    """Return usage_counts from the warehouse, opened read-only (empty if it has no events)."""
    with open_warehouse(settings, read_only=True) as warehouse:
        return usage_counts(warehouse.con, as_of)
