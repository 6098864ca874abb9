"""Bulk inserts through the driver's executemany, binding values exactly as Core would."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, insert

BATCH = 10_000  # rows per executemany call
VALUES_ROWS = 100  # rows per multi-row INSERT on qmark drivers (SQLite): fewer statement steps
MAX_VARIABLES = 32_766  # SQLite's limit on parameters per statement (since 3.32)


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
    """Insert many rows (dicts with the same keys) through the driver's executemany."""
    if rows:
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        bulk_insert_columns(connection, table, columns, raw=raw, constants=constants)


def bulk_insert_columns(
    connection: Connection,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    raw: Collection[str] = (),
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert rows given column by column, applying each column's bind type, in batches.

    The same values SQLAlchemy would bind, without its per-row statement bookkeeping (which
    costs more than the insert itself at 100k rows). Columns in raw are passed as given
    (e.g. JSON already serialised); constants are the same for every row and bound once.
    """
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of unequal length: {sorted(lengths)}")
    if not columns or not lengths.pop():
        return
    dialect = connection.dialect
    bound: dict[str, np.ndarray] = {
        name: _as_objects(values if name in raw else bind_column(table, name, values, dialect))
        for name, values in columns.items()
    }
    n_rows = len(next(iter(bound.values())))
    for name, value in (constants or {}).items():
        bound[name] = _filled(n_rows, bind(table, name, value, dialect))
    compiled = insert(table).compile(dialect=dialect, column_keys=list(bound))
    order = compiled.positiontup or list(bound)
    rows = np.column_stack([bound[name] for name in order])
    if dialect.paramstyle == "qmark":  # SQLite: many rows per statement, the rest one by one
        _insert_multi_row(connection, compiled.string, rows)
    elif compiled.positiontup:
        _execute_in_batches(connection, compiled.string, _tuples(rows), BATCH)
    else:  # named parameters (e.g. psycopg's %(name)s)
        params = [dict(zip(order, row, strict=True)) for row in rows.tolist()]
        _execute_in_batches(connection, compiled.string, params, BATCH)


def _execute_in_batches(connection: Connection, sql: str, params: list[Any], size: int) -> None:
    """Run the statement through the driver's executemany, `size` parameter sets per call."""
    for start in range(0, len(params), size):
        connection.exec_driver_sql(sql, params[start : start + size])


def _tuples(rows: np.ndarray) -> list[tuple[Any, ...]]:
    """Return the matrix rows as tuples of Python objects (what exec_driver_sql accepts)."""
    return list(map(tuple, rows.tolist()))


def _insert_multi_row(connection: Connection, sql: str, rows: np.ndarray) -> None:
    """Insert the rows VALUES_ROWS per statement, any rows left over one per statement.

    One statement step per 100 rows instead of per row; the values are bound the same.
    """
    head, values, row = sql.rpartition(" VALUES ")
    n_rows, width = rows.shape
    per_statement = max(1, min(VALUES_ROWS, MAX_VARIABLES // width))
    whole = n_rows - n_rows % per_statement if values and row.startswith("(") else 0
    if whole:
        multi = head + values + ", ".join([row] * per_statement)
        statements = _tuples(rows[:whole].reshape(-1, per_statement * width))
        _execute_in_batches(connection, multi, statements, max(1, BATCH // per_statement))
    _execute_in_batches(connection, sql, _tuples(rows[whole:]), BATCH)


def _filled(n_rows: int, value: Any) -> np.ndarray:
    """Return an object column holding the same value (even a list or tuple) in every row."""
    column = np.empty(n_rows, dtype=object)
    column.fill(value)
    return column


def _as_objects(values: Sequence[Any]) -> np.ndarray:
    """Return values as a 1-D object array of Python objects (a list or tuple kept whole)."""
    if isinstance(values, np.ndarray):
        return values.astype(object)  # NumPy numbers become Python int and float
    return np.fromiter(values, dtype=object, count=len(values))


def bind_column(table: Table, column: str, values: Sequence[Any], dialect: Any) -> Sequence[Any]:
    """Return a column's values as its type binds them (unchanged when it has no processor)."""
    process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return values if process is None else [process(value) for value in values]
