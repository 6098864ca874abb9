"""PostgreSQL bulk upsert: DuckDB writes the valid rows as CSV, `COPY` stages them, one upsert."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
from sqlalchemy import Table
from sqlalchemy.orm import Session

from tenure.ingest import pg_bulk

CHUNK_BYTES = 1 << 20  # bytes per write into COPY FROM STDIN
STAGE = "tenure_copy_stage"


def _csv_select(con: duckdb.DuckDBPyConnection, select: str) -> tuple[list[str], str]:
    """Return the select's columns and a query rendering its timestamps as UTC text for COPY."""
    described = con.execute(f"DESCRIBE {select}").fetchall()
    columns = [row[0] for row in described]
    rendered = [
        f"strftime(timezone('UTC', \"{name}\"), '%Y-%m-%d %H:%M:%S.%f') || '+00' AS \"{name}\""
        if kind == "TIMESTAMP WITH TIME ZONE"
        else f'"{name}"'
        for name, kind in ((row[0], row[1]) for row in described)
    ]
    return columns, f"SELECT {', '.join(rendered)} FROM ({select})"


def _write_csv(con: duckdb.DuckDBPyConnection, query: str, folder: str) -> Path:
    """Write the query's rows to a headerless CSV file in folder (NULL as an unquoted empty field)."""
    handle, name = tempfile.mkstemp(suffix=".csv", dir=folder)
    os.close(handle)
    path = Path(name)
    target = str(path).replace("'", "''")
    con.execute(f"COPY ({query}) TO '{target}' (FORMAT csv, HEADER false, NULL '')")
    return path


def stream_file(cursor_copy: object, path: Path) -> None:
    """Send the file to a running COPY FROM STDIN in CHUNK_BYTES pieces."""
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            cursor_copy.write(chunk)  # type: ignore[attr-defined]


def _value(column: str, json_columns: set[str]) -> str:
    """Return the staged column as the target stores it (JSON text → jsonb without nulls)."""
    if column in json_columns:
        return f"coalesce(jsonb_strip_nulls(s.\"{column}\"::jsonb), '{{}}'::jsonb)"
    return f's."{column}"'


def merge_statements(
    table: Table, columns: list[str], json_columns: set[str], *, empty: bool = False
) -> list[str]:
    """Return the statements merging the stage into table on external_id.

    Update only the rows whose values changed, then insert the new ones with a plain INSERT.
    A re-import of an unchanged file writes nothing, and new rows skip ON CONFLICT's
    speculative insertion. Into an empty table every row is new: one INSERT, no join. The
    caller holds the lock (see _merge).
    """
    name = f'"{table.name}"'
    changed = [c for c in columns if c != "external_id"]
    values = {c: _value(c, json_columns) for c in columns}
    assignments = ", ".join(f'"{c}" = {values[c]}' for c in changed)
    old = ", ".join(f't."{c}"' for c in changed)
    new = ", ".join(values[c] for c in changed)
    quoted = ", ".join(f'"{c}"' for c in columns)
    insert = f"INSERT INTO {name} ({quoted}) SELECT {', '.join(values[c] for c in columns)}"
    if empty:
        return [f"{insert} FROM {STAGE} s"]
    return [
        f"UPDATE {name} t SET {assignments} FROM {STAGE} s"
        f" WHERE t.external_id = s.external_id AND ({old}) IS DISTINCT FROM ({new})",
        f"{insert} FROM {STAGE} s WHERE NOT EXISTS"
        f" (SELECT 1 FROM {name} t WHERE t.external_id = s.external_id)",
    ]


def copy_upsert(
    session: Session,
    con: duckdb.DuckDBPyConnection,
    *,
    table: Table,
    select: str,
    json_columns: set[str],
    on_batch: Callable[[int], None],
) -> int:
    """Upsert the select's rows into table on external_id through COPY; return rows written."""
    columns, query = _csv_select(con, select)
    stage_types = ", ".join(
        f'"{c}" text' if c in json_columns else f'"{c}" {_pg_type(table, c, session)}'
        for c in columns
    )
    folder = tempfile.mkdtemp(prefix="tenure-copy-")
    path = _write_csv(con, query, folder)
    try:
        connection = session.connection()
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute("SET LOCAL timezone = 'UTC'")
            cursor.execute(f"CREATE TEMP TABLE {STAGE} ({stage_types}) ON COMMIT DROP")
            with cursor.copy(f"COPY {STAGE} FROM STDIN (FORMAT csv, NULL '')") as copy:
                stream_file(copy, path)
            written = _merge(cursor, table, columns, json_columns)
            cursor.execute(f"DROP TABLE {STAGE}")
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)
    on_batch(written)
    return written


def _merge(cursor: object, table: Table, columns: list[str], json_columns: set[str]) -> int:
    """Merge the stage into table; return the staged rows.

    Under a SHARE ROW EXCLUSIVE lock readers go on and other writers wait. A big load that at
    least doubles the table (pg_bulk.is_bulk) sets the foreign keys and secondary indexes
    aside under ACCESS EXCLUSIVE and rebuilds them after the insert.
    """
    name = f'"{table.name}"'
    cursor.execute(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE")  # type: ignore[attr-defined]
    cursor.execute(f"SELECT count(*) FROM {STAGE}")  # type: ignore[attr-defined]
    staged = cursor.fetchone()[0]  # type: ignore[attr-defined]
    aside, existing = None, None
    if staged > pg_bulk.BULK_ROWS:  # small loads skip counting the table
        cursor.execute(f"SELECT count(*) FROM {name}")  # type: ignore[attr-defined]
        existing = cursor.fetchone()[0]  # type: ignore[attr-defined]
        if pg_bulk.is_bulk(staged, existing):
            aside = pg_bulk.set_aside(cursor, name)
    for statement in merge_statements(table, columns, json_columns, empty=existing == 0):
        cursor.execute(statement)  # type: ignore[attr-defined]
    if aside is not None:
        pg_bulk.put_back(cursor, aside)
    return staged


def _pg_type(table: Table, column: str, session: Session) -> str:
    """Return the column's PostgreSQL type as DDL text."""
    dialect = session.get_bind().dialect
    return table.c[column].type.compile(dialect=dialect)
