"""Bulk inserts through the driver's executemany, binding values exactly as Core would."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

BATCH = 10_000  # rows per executemany call
VALUES_ROWS = 100  # rows per multi-row INSERT on qmark drivers (SQLite): fewer statement steps
MAX_VARIABLES = 32_766  # SQLite's limit on parameters per statement (since 3.32)


def dialect_insert(bind_or_session: Any, target: Any) -> Any:
    """Return an INSERT for target that supports ON CONFLICT on the bind's dialect."""
    get_bind = getattr(bind_or_session, "get_bind", None)
    bound = get_bind() if get_bind is not None else bind_or_session
    make = postgresql.insert if bound.dialect.name == "postgresql" else sqlite.insert
    return make(target)


def upsert(bind_or_session: Any, target: Any, *, keys: Sequence[str], update: Iterable[str]) -> Any:
    """Return INSERT … ON CONFLICT (keys) DO UPDATE setting the update columns to the new row's."""
    statement = dialect_insert(bind_or_session, target)
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in update}
    )


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
    bound: dict[str, Iterable[Any]] = {
        name: values if name in raw else bind_column(table, name, values, dialect)
        for name, values in columns.items()
    }
    for name, value in (constants or {}).items():
        bound[name] = itertools.repeat(bind(table, name, value, dialect))
    compiled = insert(table).compile(dialect=dialect, column_keys=list(bound))
    order = compiled.positiontup or list(bound)
    # strict=False: the constants repeat forever, the row columns (equal lengths) end it
    params: list[Any] = list(zip(*(bound[name] for name in order), strict=False))
    if dialect.paramstyle == "qmark":  # SQLite: many rows per statement, the rest one by one
        params = _insert_multi_row(connection, compiled.string, params)
    elif not compiled.positiontup:  # named parameters (e.g. psycopg's %(name)s)
        params = [dict(zip(order, row, strict=True)) for row in params]
    _execute_in_batches(connection, compiled.string, params, BATCH)


def _execute_in_batches(connection: Connection, sql: str, params: list[Any], size: int) -> None:
    """Run the statement through the driver's executemany, `size` parameter sets per call."""
    for start in range(0, len(params), size):
        connection.exec_driver_sql(sql, params[start : start + size])


def _insert_multi_row(connection: Connection, sql: str, rows: list[tuple[Any, ...]]) -> list[Any]:
    """Insert the leading rows VALUES_ROWS at a time and return the rows left over.

    One statement step per 100 rows instead of per row; the values are bound the same.
    """
    head, values, row = sql.rpartition(" VALUES ")
    width = len(rows[0])
    per_statement = max(1, min(VALUES_ROWS, MAX_VARIABLES // width))
    whole = len(rows) - len(rows) % per_statement
    if not values or not row.startswith("(") or whole == 0:
        return rows
    multi = head + values + ", ".join([row] * per_statement)
    flat = list(itertools.chain.from_iterable(rows[:whole]))
    step = per_statement * width
    statements = [tuple(flat[start : start + step]) for start in range(0, len(flat), step)]
    _execute_in_batches(connection, multi, statements, max(1, BATCH // per_statement))
    return rows[whole:]


def bind_column(table: Table, column: str, values: Sequence[Any], dialect: Any) -> Sequence[Any]:
    """Return a column's values as its type binds them (unchanged when it has no processor)."""
    process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return values if process is None else [process(value) for value in values]


def insert_new(
    connection: Connection,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    key: str,
    chunk: int = 1000,
) -> list[Any]:
    """Insert rows given column by column, skipping those whose key is stored; return new keys.

    One multi-row `INSERT … ON CONFLICT (key) DO NOTHING RETURNING key` per chunk of rows (SQLite
    and PostgreSQL), values bound as the columns' types bind them: what a concurrent writer
    inserted first is skipped, never duplicated, and only the keys this call stored come back.
    """
    quote = connection.dialect.identifier_preparer.quote
    tail = f" ON CONFLICT ({quote(key)}) DO NOTHING RETURNING {quote(key)}"
    new: list[Any] = []
    for result in _multi_row(connection, table, columns, tail, chunk):
        new.extend(value for (value,) in result)
    return new


def insert_ignoring_conflicts(
    connection: Connection, table: Table, columns: Mapping[str, Sequence[Any]], chunk: int = 1000
) -> None:
    """Insert rows given column by column, multi-row, skipping any that conflict (DO NOTHING)."""
    for _ in _multi_row(connection, table, columns, " ON CONFLICT DO NOTHING", chunk):
        pass


def _multi_row(
    connection: Connection,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    tail: str,
    chunk: int,
) -> Iterator[Any]:
    """Run `INSERT … VALUES (…), (…) tail` per chunk of rows; yield each statement's result."""
    names = list(columns)
    bound = [bind_column(table, n, columns[n], connection.dialect) for n in names]
    rows = list(zip(*bound, strict=True))
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "postgresql":  # one array per column: a short, cached query
        yield _unnest(connection, table, names, bound, tail)
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    row_sql = "(" + ", ".join([mark] * len(names)) + ")"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "
    size = max(1, min(chunk, MAX_VARIABLES // len(names)))
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        sql = head + ", ".join([row_sql] * len(part)) + tail
        yield connection.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(part)))


def _unnest(
    connection: Connection, table: Table, names: list[str], bound: list[Any], tail: str
) -> Any:
    """Run `INSERT … SELECT * FROM unnest(%s::type[], …) tail` on PostgreSQL; return its result.

    psycopg parses every placeholder of a query in Python: one array per column keeps 10
    placeholders for 500 rows instead of 5,000.
    """
    dialect, quote = connection.dialect, connection.dialect.identifier_preparer.quote
    arrays = ", ".join(f"%s::{table.c[n].type.compile(dialect=dialect)}[]" for n in names)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)})"
        f" SELECT * FROM unnest({arrays}){tail}"
    )
    return connection.exec_driver_sql(sql, tuple(list(values) for values in bound))
