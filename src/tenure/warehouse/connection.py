"""Open the DuckDB warehouse behind an explicit single-writer lock file."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb

from tenure.config import Settings
from tenure.errors import LockHeld
from tenure.warehouse.catalog import SCHEMA_DDL

DUCKDB_TEMP_DIR = "duckdb_tmp"  # where DuckDB spills, inside the data dir


@dataclass
class Warehouse:
    """An open warehouse: the raw DuckDB connection and an Ibis backend over it."""

    con: duckdb.DuckDBPyConnection
    path: Path
    read_only: bool

    @property
    def ibis(self) -> Any:
        """Return an Ibis DuckDB backend sharing this connection."""
        import ibis

        return ibis.duckdb.from_connection(self.con)


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _describe_holder(lock_file: Path) -> str:
    try:
        text = lock_file.read_text().strip()
    except OSError:
        return "another process"
    return text or "another process"


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[IO[str]]:
    """Hold the warehouse's writer lock, or raise LockHeld naming the holder."""
    lock_file = _lock_path(path)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_file, "a+")  # noqa: SIM115 - held for the with block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(lock_file)
            raise LockHeld(
                f"the warehouse {path} is being written by {holder}; "
                "wait for it to finish or stop it, then retry"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({' '.join(sys.argv[:3])})\n")
        handle.flush()
        yield handle
    finally:
        handle.close()


def configure(
    con: duckdb.DuckDBPyConnection,
    *,
    memory_limit: str | None = None,
    temp_dir: Path | None = None,
) -> None:
    """Apply Tenure's session settings: UTC, no extension downloads, memory cap, spill folder."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    # Track progress for tenure's own bars (query_progress) but never print DuckDB's to stdout.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_dir is not None:
        con.execute(f"SET temp_directory = '{temp_dir}'")


@contextlib.contextmanager
def open_warehouse(settings: Settings, *, read_only: bool = False) -> Iterator[Warehouse]:
    """Open the warehouse; writers take the lock and make sure the schema exists."""
    settings.ensure_data_dir()
    path = settings.warehouse_path
    if read_only:
        if not path.exists():
            con = duckdb.connect()
            configure(con)
            for ddl in SCHEMA_DDL:
                con.execute(ddl)
        else:
            con = _connect(path, read_only=True)
        try:
            yield Warehouse(con=con, path=path, read_only=True)
        finally:
            con.close()
        return
    with writer_lock(path):
        con = _connect(path, read_only=False, memory_limit=settings.import_memory_limit)
        try:
            for ddl in SCHEMA_DDL:
                con.execute(ddl)
            yield Warehouse(con=con, path=path, read_only=False)
        finally:
            con.close()


def _connect(path: Path, *, read_only: bool, memory_limit: str | None = None) -> Any:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise LockHeld(f"cannot open the warehouse {path}: {exc}") from exc
    configure(con, memory_limit=memory_limit, temp_dir=path.parent / DUCKDB_TEMP_DIR)
    return con
