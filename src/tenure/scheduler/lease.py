"""A job lease in the app DB: one holder at a time, renewed while it works, taken over after a crash.

A row per job names its holder and when the claim lapses. Taking it is a compare-and-swap
UPDATE (or an INSERT racing on the primary key), so it works the same on SQLite and
PostgreSQL, across hosts. A holder that crashed stops renewing: its lease is taken over once
it lapses, or at once by a process on the same host that sees the holder's pid is gone.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tenure import clock
from tenure.errors import LockHeld
from tenure.logging import get_logger
from tenure.scheduler.models import JobLease

log = get_logger(__name__)
PIPELINE = "pipeline"


def holder_id() -> str:
    """Return a new holder id naming this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def pid_gone(host: str, pid: int) -> bool:
    """Tell whether the holder ran on this host and its process no longer exists."""
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Lease:
    """A held lease: renew it while working, release it when done."""

    engine: sa.Engine
    name: str
    holder: str
    seconds: float

    def renew(self) -> bool:
        """Push the expiry forward; False when the lease was lost (taken over)."""
        table = JobLease.__table__
        query = (
            table.update()
            .where(table.c.name == self.name, table.c.holder == self.holder)
            .values(expires_at=clock.now() + timedelta(seconds=self.seconds))
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def release(self) -> None:
        """Give the lease up (only if still held by this holder)."""
        table = JobLease.__table__
        query = table.delete().where(table.c.name == self.name, table.c.holder == self.holder)
        with self.engine.begin() as conn:
            conn.execute(query)


def _claim(engine: sa.Engine, name: str, holder: str, seconds: float) -> str | None:
    """Take the lease if free, lapsed or orphaned; return None or a description of its holder."""
    table = JobLease.__table__
    now = clock.now()
    values = {
        "holder": holder,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "acquired_at": now,
        "expires_at": now + timedelta(seconds=seconds),
    }
    with engine.begin() as conn:
        row = conn.execute(sa.select(table).where(table.c.name == name)).first()
        if row is None:
            conn.execute(table.insert().values(name=name, **values))
            return None
        if row.holder != holder and row.expires_at > now and not pid_gone(row.host, row.pid):
            return f"{row.holder} until {row.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        swap = table.update().where(table.c.name == name, table.c.holder == row.holder)
        if conn.execute(swap.values(**values)).rowcount == 1:
            if row.holder != holder:
                log.warning("took over a lapsed job lease", job=name, previous=row.holder)
            return None
        return "another process (it took the lease first)"


def acquire(engine: sa.Engine, name: str, seconds: float, holder: str | None = None) -> Lease:
    """Return the held lease of a job, or raise LockHeld naming who holds it."""
    holder = holder or holder_id()
    try:
        held_by = _claim(engine, name, holder, seconds)
    except IntegrityError:  # two first claims raced on the primary key: the other won
        held_by = "another process (it took the lease first)"
    if held_by is not None:
        raise LockHeld(f"{name} is already running in {held_by}; wait for it or stop it")
    return Lease(engine, name, holder, seconds)


@contextlib.contextmanager
def holding(engine: sa.Engine, name: str, seconds: float) -> Iterator[Lease]:
    """Hold a job's lease for the block, renewing it in a thread every third of its life."""
    lease = acquire(engine, name, seconds)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(seconds / 3):
            if not lease.renew():
                log.error("lost the job lease while running", job=name)
                return

    beat = threading.Thread(target=heartbeat, name=f"lease-{name}", daemon=True)
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join(timeout=10)
        lease.release()
