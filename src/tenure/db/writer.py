"""One writer at a time on a SQLite app DB: a thread lock in the process, a file lock across.

SQLite lets one transaction write at a time; a writer that finds the database locked sleeps in
SQLite's busy handler (1, 2, 5 … 100 ms steps) and may lose again to a writer that arrived
later, so under load a few requests wait seconds. Queueing writers on a lock instead wakes the
next one as soon as the previous commits: threads of one worker on a threading.Lock, worker
processes on an exclusive flock of `<database>-writer.lock`. PostgreSQL needs neither (rows
lock themselves): there the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from typing import Any

import sqlalchemy as sa


class WriterLock:
    """A re-usable context manager: the process's thread lock, then the database's file lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> WriterLock:
        self._thread.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread.release()
            raise
        return self

    def __exit__(self, *_exc: Any) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()


_LOCKS: dict[str, WriterLock] = {}
_MADE = threading.Lock()


def writer_lock(engine: sa.Engine) -> Any:
    """Return the writer lock of engine's database, one per file and process (no-op off SQLite)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return contextlib.nullcontext()
    path = os.path.abspath(database)
    with _MADE:
        if path not in _LOCKS:
            _LOCKS[path] = WriterLock(f"{path}-writer.lock")
        return _LOCKS[path]
