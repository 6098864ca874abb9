"""Erase a subject outside the app DB: the DuckDB warehouse (rows deleted, file rewritten so no
free page keeps them), files under the data dir (lines dropped, Parquet rewritten, other files
deleted), SQLite side files (MLflow) and compaction of the app DB."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa

from tenure.config import Settings
from tenure.warehouse.connection import DUCKDB_TEMP_DIR, configure, writer_lock

LINE_FILES = (".csv", ".log", ".jsonl", ".ndjson", ".txt", ".tsv")
SQLITE_MAGIC = b"SQLite format 3\x00"
TEXT_TYPES = ("VARCHAR", "JSON")


def _warehouse_tables(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_catalog = current_database() AND table_schema = 'main'"
        " AND table_name IN (SELECT table_name FROM information_schema.tables"
        "   WHERE table_type = 'BASE TABLE' AND table_schema = 'main')"
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, {})[column] = kind
    return tables


def _row_conditions(columns: dict[str, str], account: tuple[int, str] | None, needles: list[str]):
    """Return SQL conditions and parameters selecting a subject's rows in one table."""
    conds: list[str] = []
    params: list[Any] = []
    if account is not None:
        if "account_id" in columns:
            numeric = columns["account_id"] not in TEXT_TYPES
            conds.append('"account_id" = ?')
            params.append(account[0] if numeric else account[1])
        if "account_external_id" in columns:
            conds.append('"account_external_id" = ?')
            params.append(account[1])
    for column, kind in columns.items():
        if kind in TEXT_TYPES:
            for needle in needles:
                conds.append(f'contains(lower(CAST("{column}" AS VARCHAR)), ?)')
                params.append(needle.lower())
    return conds, params


def erase_from_warehouse(
    settings: Settings, account: tuple[int, str] | None, needles: list[str]
) -> dict[str, int]:
    """Delete the subject's rows from every warehouse table, then rewrite the file."""
    path = settings.warehouse_path
    if not path.exists():
        return {}
    removed: dict[str, int] = {}
    with writer_lock(path):
        con = duckdb.connect(str(path))
        configure(con, temp_dir=settings.data_dir / DUCKDB_TEMP_DIR)
        try:
            for table, columns in _warehouse_tables(con).items():
                conds, params = _row_conditions(columns, account, needles)
                if not conds:
                    continue
                where = " OR ".join(conds)
                count = con.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', params)
                if n := count.fetchone()[0]:
                    con.execute(f'DELETE FROM "{table}" WHERE {where}', params)
                    removed[table] = n
            _rewrite(con, path)
        finally:
            con.close()
        _swap(path)
    return removed


def _rewrite(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Copy the whole database into a fresh file (deleted rows are not in free pages there)."""
    fresh = path.with_name(path.name + ".rewrite")
    fresh.unlink(missing_ok=True)
    con.execute("CHECKPOINT")
    database = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"ATTACH '{fresh.as_posix()}' AS erasure_copy")
    con.execute(f'COPY FROM DATABASE "{database}" TO erasure_copy')
    con.execute("DETACH erasure_copy")


def _swap(path: Path) -> None:
    """Replace the warehouse with its rewritten copy (under the writer lock)."""
    fresh = path.with_name(path.name + ".rewrite")
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def compact_app_db(engine: sa.Engine, tables: list[str]) -> str:
    """Rewrite the app DB so deleted rows leave no bytes behind; return what was run."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return "VACUUM + wal_checkpoint(TRUNCATE)"
        for table in tables:
            conn.exec_driver_sql(f'VACUUM FULL "{table}"')
        return f"VACUUM FULL on {len(tables)} tables"


def _holds(data: bytes, needles: list[bytes]) -> bool:
    lowered = data.lower()
    return any(n in lowered for n in needles)


def _drop_lines(path: Path, needles: list[bytes]) -> int:
    lines = path.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if not _holds(line, needles)]
    staging = path.with_name(path.name + ".erasing")
    staging.write_bytes(b"".join(kept))
    os.replace(staging, path)
    return len(lines) - len(kept)


def _rewrite_parquet(path: Path, needles: list[str]) -> int:
    con = duckdb.connect()
    try:
        source = f"read_parquet('{path.as_posix()}')"
        where = " OR ".join("contains(lower(CAST(t AS VARCHAR)), ?)" for _ in needles)
        n = con.execute(f"SELECT count(*) FROM {source} t WHERE {where}", needles).fetchone()[0]
        staging = path.with_name(path.name + ".erasing")
        con.execute(
            f"COPY (SELECT * FROM {source} t WHERE NOT ({where})) TO '{staging.as_posix()}'"
            " (FORMAT parquet)",
            needles,
        )
    finally:
        con.close()
    os.replace(staging, path)
    return n


def _scrub_sqlite(path: Path, needles: list[str]) -> int:
    """Delete rows naming the subject from a side SQLite file (MLflow's store) and VACUUM."""
    con = sqlite3.connect(path)
    removed = 0
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in names:
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for needle in needles:
                    cursor = con.execute(
                        f'DELETE FROM "{table}" WHERE instr(lower(CAST("{column}" AS TEXT)), ?) > 0',
                        (needle,),
                    )
                    removed += cursor.rowcount
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    return removed


def erase_from_files(settings: Settings, needles: list[str], skip: set[Path]) -> list[dict]:
    """Remove the subject from every file under the data dir; return one entry per file touched."""
    lowered = [n.lower() for n in needles]
    raw = [n.encode("utf-8") for n in lowered]
    touched = []
    for path in sorted(p for p in settings.data_dir.rglob("*") if p.is_file()):
        if path.resolve() in skip or not raw:
            continue
        data = path.read_bytes()
        if not _holds(data, raw):
            continue
        name = str(path.relative_to(settings.data_dir))
        if data.startswith(SQLITE_MAGIC):
            touched.append(
                {"file": name, "action": "rows deleted", "rows": _scrub_sqlite(path, lowered)}
            )
        elif path.suffix == ".parquet":
            touched.append(
                {"file": name, "action": "rewritten", "rows": _rewrite_parquet(path, lowered)}
            )
        elif path.suffix in LINE_FILES:
            touched.append(
                {"file": name, "action": "lines dropped", "rows": _drop_lines(path, raw)}
            )
        else:
            path.unlink()
            touched.append({"file": name, "action": "deleted"})
    return touched
