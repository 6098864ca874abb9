"""The SQLite writer lock: one holder at a time across threads and processes; no-op elsewhere."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time

import sqlalchemy as sa

from tenure.db.writer import WriterLock, writer_lock


def test_one_lock_per_database_file_and_none_in_memory(tmp_path):
    first = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    second = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    assert writer_lock(first) is writer_lock(second)
    assert isinstance(writer_lock(first), WriterLock)
    assert isinstance(writer_lock(sa.create_engine("sqlite://")), contextlib.nullcontext)


def test_threads_take_turns(tmp_path):
    """Eight threads each hold the lock for a moment: never two inside at once."""
    lock = WriterLock(str(tmp_path / "db-writer.lock"))
    inside, most = [0], [0]

    def write() -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            time.sleep(0.005)
            inside[0] -= 1

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def test_another_process_holding_the_file_lock_makes_writers_wait(tmp_path):
    """While another open file description holds the flock, the lock is not granted."""
    path = tmp_path / "db-writer.lock"
    lock = WriterLock(str(path))
    other = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    entered = threading.Event()

    def write() -> None:
        with lock:
            entered.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not entered.wait(0.2)
    fcntl.flock(other, fcntl.LOCK_UN)
    os.close(other)
    assert entered.wait(5)
    thread.join()
