"""Replays over archived days: the app DB's score tables, completed from the archive, per session.

The alert-rule backtest replays rules (SQL on churn_score and health_score) months back, past
the app DB's window. Within `archived_scores_in`, the session's connection sees temporary
tables of the same names (SQLite and PostgreSQL search the temporary schema first) holding the
app DB's rows of the period plus the archived ones it no longer has. Nothing is written to the
real tables, and other connections see nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.db.bulk import bulk_insert_columns
from tenure.history.store import COLUMNS, JSON_COLUMNS, MODELS, archived_days, read_history

ARCHIVE_TYPES = {"probability": "DOUBLE", "score": "DOUBLE", "horizon_days": "INTEGER",
                 "change_7d": "DOUBLE", "change_30d": "DOUBLE", "scored_at": "TIMESTAMPTZ",
                 "updated_at": "TIMESTAMPTZ"}  # fmt: skip


def _copy_period(conn: sa.Connection, table: str, first: date, last: date) -> set[tuple]:
    """Create the temporary copy of a table's period; return its (account_id, as_of) keys."""
    source = f"main.{table}" if conn.dialect.name == "sqlite" else table
    conn.execute(
        sa.text(
            f"CREATE TEMPORARY TABLE {table} AS SELECT * FROM {source}"
            " WHERE as_of >= :first AND as_of <= :last"
        ),
        {"first": first, "last": last},
    )
    model = MODELS[table]
    keys = conn.execute(sa.select(model.account_id, model.as_of))
    return {(a, d) for a, d in keys}


def _add_archived(conn: sa.Connection, root: Path, table: str, days: list[date]) -> int:
    """Insert the archived rows of days the temporary copy lacks; return how many."""
    present = _copy_period(conn, table, days[0], days[-1])
    columns = {c: ARCHIVE_TYPES.get(c, "VARCHAR") for c in COLUMNS[table] if c != "account_id"}
    wanted = sorted(set(days) & archived_days(root, table))
    rows = read_history(root, table, columns, wanted).to_pylist() if wanted else []
    rows = [r for r in rows if (r["account_id"], r["as_of"]) not in present]
    if not rows:
        return 0
    values = {c: [r[c] for r in rows] for c in ("account_id", "as_of", *columns)}
    values["id"] = list(range(-1, -len(rows) - 1, -1))  # the ORM needs a key; real ids are > 0
    for name in JSON_COLUMNS & set(values):
        values[name] = [json.loads(v) if v else None for v in values[name]]
    bulk_insert_columns(conn, MODELS[table].__table__, values)
    return len(rows)


def lookback_days(rules: list[Any]) -> int:
    """Return how far before a replayed day the rules read scores (tier change: 30 days)."""
    spans = [30]
    for rule in rules:
        spans += [int(v) for k, v in rule.params.items() if k in ("days", "max_age_days")]
    return max(spans)


@contextlib.contextmanager
def archived_scores_in(session: Session, root: Path, first: date, last: date) -> Iterator[int]:
    """Within the block, the session reads both score tables of first..last whole; yield rows added."""
    conn = session.connection()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    added = 0
    try:
        for table in MODELS:
            added += _add_archived(conn, root, table, days)
        yield added
    finally:
        temp = "temp" if conn.dialect.name == "sqlite" else "pg_temp"
        for table in MODELS:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {temp}.{table}"))
