"""Measure the warehouse's events for the data-quality report, in one DuckDB query per call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from tenure.quality.rules import EVENTS, NULL_TOKENS
from tenure.quality.scoring import Figure, Ratio, Recency, describe_missing
from tenure.warehouse.catalog import EVENTS as EVENTS_TABLE

ACCOUNT_IDS_VIEW = "quality_app_account_ids"

_NULL_LIST = ", ".join(f"'{token}'" for token in NULL_TOKENS)

PROFILE_SQL = f"""
SELECT
    e.source AS source,
    count(*) AS rows,
    count(*) FILTER (WHERE {{missing_any}}) AS incomplete,
    {{missing_each}},
    count(DISTINCT e.message_id) AS distinct_keys,
    max(e.ts) AS newest,
    count(*) FILTER (WHERE a.id IS NULL) AS orphans,
    count(*) FILTER (WHERE {{after_received}}) AS after_received,
    count(*) FILTER (WHERE {{in_future}}) AS in_future,
    count(*) FILTER (WHERE {{after_received}} OR {{in_future}}) AS inconsistent
FROM {EVENTS_TABLE} AS e
LEFT JOIN {ACCOUNT_IDS_VIEW} AS a ON a.id = e.account_id
GROUP BY e.source
ORDER BY e.source
"""


def _missing(column: str, *, text: bool) -> str:
    """Return the SQL predicate for a missing value of an events column."""
    if text:
        return f"(e.{column} IS NULL OR lower(trim(e.{column})) IN ({_NULL_LIST}))"
    return f"e.{column} IS NULL"


def profile_sql() -> str:
    """Return the per-source profile query of the events table."""
    predicates = {name: _missing(name, text=name == "name") for name in EVENTS.required}
    missing_each = ",\n    ".join(
        f"count(*) FILTER (WHERE {predicate}) AS missing_{name}"
        for name, predicate in predicates.items()
    )
    missing_any = " OR ".join(predicates.values())
    return PROFILE_SQL.format(
        missing_any=missing_any,
        missing_each=missing_each,
        after_received="e.ts > e.received_at + to_seconds($tolerance)",
        in_future="e.ts > CAST($future_limit AS TIMESTAMPTZ)",
    )


def event_figures(
    con: Any, *, account_ids: Sequence[int], now: datetime, tolerance: timedelta
) -> list[Figure]:
    """Measure events per source: completeness, uniqueness, accounts, consistency, freshness."""
    ids = pa.table({"id": pa.array(account_ids, type=pa.int64())})
    con.register(ACCOUNT_IDS_VIEW, ids)
    try:
        params = {
            "tolerance": tolerance.total_seconds(),
            "future_limit": (now + tolerance).astimezone(UTC).isoformat(),
        }
        cursor = con.execute(profile_sql(), params)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.unregister(ACCOUNT_IDS_VIEW)
    if not rows:
        return figures_from_profile({"rows": 0, "source": None})
    return [figure for row in rows for figure in figures_from_profile(row)]


def figures_from_profile(row: dict[str, Any]) -> list[Figure]:
    """Turn one per-source profile row of the events table into figures."""
    rows, source = int(row["rows"]), row["source"]
    if rows == 0:
        row = dict.fromkeys(
            ("incomplete", "distinct_keys", "orphans", "after_received", "in_future"), 0
        )
        row |= {"inconsistent": 0, "newest": None}
    missing = {name: int(row.get(f"missing_{name}", 0)) for name in EVENTS.required}
    broken_rules = {
        "ts later than received_at": int(row["after_received"]),
        "ts in the future": int(row["in_future"]),
    }
    parts = [f"{name}: {count}" for name, count in broken_rules.items() if count]
    newest = row["newest"].astimezone(UTC) if row["newest"] is not None else None
    return [
        Ratio(
            EVENTS.name,
            "completeness",
            rows - int(row["incomplete"]),
            rows,
            f"{describe_missing(missing)} (of {rows} rows)",
            source,
        ),
        Ratio(
            EVENTS.name,
            "uniqueness",
            int(row["distinct_keys"]),
            rows,
            f"{rows - int(row['distinct_keys'])} duplicate message_id values",
            source,
        ),
        Ratio(
            EVENTS.name,
            "referential",
            rows - int(row["orphans"]),
            rows,
            f"{int(row['orphans'])} events point at an account missing from the app DB",
            source,
            rule="account exists",
        ),
        Ratio(
            EVENTS.name,
            "consistency",
            rows - int(row["inconsistent"]),
            rows,
            "; ".join(parts) if parts else f"none found of: {'; '.join(broken_rules)}",
            source,
        ),
        Recency(EVENTS.name, newest, rows, EVENTS.cadence, source=source),
    ]
