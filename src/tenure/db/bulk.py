"""Bulk inserts through the driver's executemany, binding values exactly as Core would."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, Table, insert

BATCH = 10_000  # rows per executemany call


def bind(table: Table, column: str, value: Any, dialect: Any) -> Any:
    """Return value as the column's type binds it for dialect (e.g. aware UTC → naive on SQLite)."""
    process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


def bulk_insert(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    raw: Collection[str] = (),
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert many rows through the driver's executemany, applying each column's bind type.

    The same values SQLAlchemy would bind, without its per-row statement bookkeeping (which
    costs more than the insert itself at 100k rows). Columns in raw are passed as given
    (e.g. JSON already serialised); constants are the same for every row and bound once.
    """
    if not rows:
        return
    dialect = connection.dialect
    fixed = {c: bind(table, c, v, dialect) for c, v in (constants or {}).items()}
    columns = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=columns + list(fixed))
    processors = {
        c: None if c in raw else table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        for c in columns
    }
    converted = [
        {c: (p(row[c]) if (p := processors[c]) else row[c]) for c in columns} | fixed
        for row in rows
    ]
    order = compiled.positiontup
    params = [tuple(r[k] for k in order) for r in converted] if order else converted
    for start in range(0, len(params), BATCH):
        connection.exec_driver_sql(compiled.string, params[start : start + BATCH])
