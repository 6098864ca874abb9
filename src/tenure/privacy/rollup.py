"""Raw-event retention: events older than N months become per-account daily counts
(`events_daily`: account, day, event name, events, distinct contacts) and are deleted."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

ROLLUP_TABLE = "events_daily"
ROLLUP_DDL = f"""
CREATE TABLE IF NOT EXISTS {ROLLUP_TABLE} (
    account_id INTEGER NOT NULL,
    day DATE NOT NULL,
    name VARCHAR NOT NULL,
    events BIGINT NOT NULL,
    contacts BIGINT NOT NULL
)
"""


def retention_cutoff(as_of: date, months: int) -> datetime:
    """Return the first instant kept: the start of the month `months` before as_of's month."""
    index = as_of.year * 12 + as_of.month - 1 - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def roll_up_old_events(con: duckdb.DuckDBPyConnection, before: datetime) -> dict[str, int]:
    """Add the daily counts of events before a time to events_daily, then delete those events.

    A day rolled up twice (late events imported after its roll-up) has two rows: sum them.
    """
    con.execute(ROLLUP_DDL)
    con.execute("BEGIN TRANSACTION")
    try:
        days = con.execute(
            f"INSERT INTO {ROLLUP_TABLE} SELECT account_id, CAST(ts AS DATE) AS day, name,"
            " count(*) AS events, count(DISTINCT contact_external_id) AS contacts"
            " FROM events WHERE ts < ? GROUP BY ALL",
            [before],
        ).fetchone()[0]
        events = con.execute("DELETE FROM events WHERE ts < ?", [before]).fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"raw_events_rolled_up": int(events), "event_days_written": int(days)}
