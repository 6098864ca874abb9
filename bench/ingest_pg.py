"""bench/ingest.py's PostgreSQL side: a scratch schema, the landed rows, and the loads timed.

The subscriptions as they landed are dumped once; then, on the same rows: the bare hand-written
loads (COPY into an indexed table, or COPY then build the indexes), the previous executemany
upsert and the COPY path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from tenure.ingest.pg_copy import stream_file

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


SUB_COLUMNS = (
    "external_id, account_id, plan, status, mrr, currency, quantity, billing_interval,"
    " started_at, ended_at"
)


def _pg(url: str):
    """Return a psycopg connection to the scratch schema of url."""
    import psycopg

    return psycopg.connect(PG_URL.replace("+psycopg", ""), options=_search_path(url))


def dump_landed_subscriptions(folder: Path, url: str) -> Path:
    """Write the subscriptions as they landed (resolved ids, minor units) to a CSV file."""
    path = folder / "landed_subscriptions.csv"
    with _pg(url) as conn, conn.cursor() as cur, path.open("wb") as out:
        cur.execute("SET timezone = 'UTC'")
        with cur.copy(
            f"COPY (SELECT {SUB_COLUMNS} FROM subscription) TO STDOUT (FORMAT csv)"
        ) as cp:
            for chunk in cp:
                out.write(chunk)
    return path


def bare_copy_subscriptions(path: Path, url: str, *, index_after: bool) -> float:
    """Time a bare COPY of the landed rows into an empty table with the same indexes.

    index_after: COPY into the table without indexes, then build each (the faster way to fill
    an empty table by hand); otherwise the indexes are there during the COPY.
    """
    like = "INCLUDING ALL EXCLUDING INDEXES" if index_after else "INCLUDING ALL"
    with _pg(url) as conn:
        conn.execute(f"CREATE TABLE bare_subscription (LIKE subscription {like})")
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'subscription' AND schemaname = current_schema()"
        ).fetchall()
        conn.commit()
        start = time.perf_counter()
        sql = f"COPY bare_subscription ({SUB_COLUMNS}) FROM STDIN (FORMAT csv)"
        with conn.cursor() as cur, cur.copy(sql) as copy:
            stream_file(copy, path)
        for name, definition in indexes if index_after else ():
            definition = definition.replace(f"INDEX {name} ON", f"INDEX bare_{name} ON")
            conn.execute(definition.replace(".subscription USING", ".bare_subscription USING"))
        conn.commit()
        seconds = time.perf_counter() - start
        conn.execute("DROP TABLE bare_subscription")
        conn.commit()
    return seconds


def _landed(path: Path) -> str:
    """Return a DuckDB query reading the landed subscriptions CSV with its column types."""
    names = [c.strip() for c in SUB_COLUMNS.split(",")]
    return (
        f"SELECT * FROM read_csv('{path}', header = false, names = {names},"
        " types = {'started_at': 'TIMESTAMPTZ', 'ended_at': 'TIMESTAMPTZ', 'mrr': 'BIGINT'})"
    )


def upsert_landed(path: Path, url: str, *, copy: bool, empty: bool = True) -> float:
    """Time one upsert of the landed rows (into the emptied table): COPY path or executemany."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from tenure.accounts.models import Subscription
    from tenure.db.bulk import upsert
    from tenure.ingest import pg_copy

    con = duckdb.connect()
    engine = sa.create_engine(url)
    table = Subscription.__table__
    if empty:
        with engine.begin() as conn:
            conn.execute(sa.delete(table))
    start = time.perf_counter()
    with Session(engine) as session, session.begin():
        if copy:
            pg_copy.copy_upsert(
                session,
                con,
                table=table,
                select=_landed(path),
                json_columns=set(),
                on_batch=lambda n: None,
            )
        else:
            names = [c.strip() for c in SUB_COLUMNS.split(",")]
            statement = upsert(session, table, keys=["external_id"], update=names[1:])
            for batch in con.execute(_landed(path)).to_arrow_reader(20_000):
                session.execute(statement, batch.to_pylist())
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def _search_path(url: str) -> str:
    """Return the libpq options of a scratch-schema URL."""
    return "-csearch_path=" + url.rsplit("%3D", 1)[1]


def postgres_schema_url() -> tuple[str, callable]:
    """Create a scratch schema in database test; return its URL and a dropper."""
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    schema = f"bench_{os.getpid()}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")

    def drop() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop
