"""A killed import leaves the previous state; the warehouse has a single writer."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
import sqlalchemy as sa

from tenure.config import Settings
from tenure.errors import LockHeld

from .. import pg_switch

ACCOUNTS = 1000
KILL_TIMEOUT = 60.0


def _tenure() -> str:
    found = Path(sys.executable).parent / "tenure"
    return str(found) if found.exists() else shutil.which("tenure") or "tenure"


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(pa.table({k: pa.array(v) for k, v in columns.items()}), path)
    return path


def _accounts(path: Path) -> Path:
    ids = np.arange(ACCOUNTS)
    return _write_csv(
        path,
        {
            "account_id": np.char.add("a", ids.astype(str)),
            "name": np.char.add("Account ", ids.astype(str)),
            "created_at": np.full(ACCOUNTS, "2024-01-01T00:00:00Z"),
        },
    )


def _subscriptions(path: Path, n: int, mrr: str | None = None) -> Path:
    ids = np.arange(n)
    return _write_csv(
        path,
        {
            "subscription_id": np.char.add("s", ids.astype(str)),
            "account_id": np.char.add("a", (ids % ACCOUNTS).astype(str)),
            "plan": np.full(n, "pro"),
            "mrr": np.full(n, mrr) if mrr else np.char.add((ids % 500).astype(str), ".25"),
            "currency": np.full(n, "USD"),
            "started_at": np.full(n, "2024-02-01T00:00:00Z"),
        },
    )


def _events(path: Path, n: int, prefix: str) -> Path:
    ids = np.arange(n)
    return _write_csv(
        path,
        {
            "message_id": np.char.add(prefix, ids.astype(str)),
            "account_id": np.char.add("a", (ids % ACCOUNTS).astype(str)),
            "event": np.full(n, "login"),
            "timestamp": 1_700_000_000 + ids,
        },
    )


class Watched:
    """A `tenure import` subprocess whose progress lines (on stderr) are followed live."""

    PHASE = re.compile(rb"(reading|validating|writing|loading)\S*\s.*?([\d,]+) (?:rows|%)")

    def __init__(self, settings: Settings, kind: str, path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
        # Make Rich draw its progress bar although stderr is a pipe.
        env |= {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "200"}
        env |= pg_switch.subprocess_env(settings.data_dir)
        self.proc = subprocess.Popen(
            [_tenure(), "--data-dir", str(settings.data_dir), "import", kind, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.phase: tuple[str, int] | None = None
        self.stderr = b""
        self._reader = threading.Thread(target=self._follow, daemon=True)
        self._reader.start()

    def _follow(self) -> None:
        while chunk := os.read(self.proc.stderr.fileno(), 65536):
            self.stderr += chunk
            for match in self.PHASE.finditer(chunk):
                self.phase = (match[1].decode(), int(match[2].replace(b",", b"")))

    def kill_when(self, ready, timeout: float = KILL_TIMEOUT) -> None:
        """SIGKILL the process as soon as ready() is true; fail if it finished first."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the import finished (rc={self.proc.returncode}) before it could be "
                    f"killed mid-way; last phase {self.phase}; stderr tail {self.stderr[-500:]!r}"
                )
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"the import never got mid-way; last phase {self.phase}")
            time.sleep(0.002)
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL
        self._reader.join(timeout=5)


def _subscription_dump(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM subscription ORDER BY id"))]


@pytest.mark.slow
@pytest.mark.timeout(120)
# On PostgreSQL the rows go in by one COPY and one merge (ingest/pg_copy.py): progress is
# reported only once they are committed, so there is no observable "mid-way" to kill at.
@pytest.mark.sqlite_only
def test_killed_subscriptions_import_leaves_the_previous_state(
    settings, engine, tmp_path, run_import, tools
):
    n = 100_000
    assert run_import(settings, engine, "accounts", _accounts(tmp_path / "a.csv")).exit_code == 0
    earlier = _subscriptions(tmp_path / "earlier.csv", 5, mrr="999.00")
    assert run_import(settings, engine, "subscriptions", earlier).exit_code == 0
    before = _subscription_dump(engine)
    assert tools.rows(engine, "SELECT DISTINCT mrr FROM subscription") == [(99900,)]
    big = _subscriptions(tmp_path / "big.csv", n)

    watched = Watched(settings, "subscriptions", big)
    # Mid-way: at least one batch upserted inside the open transaction, not all of them.
    watched.kill_when(
        lambda: (
            watched.phase is not None and watched.phase[0] == "loading" and 0 < watched.phase[1] < n
        )
    )

    assert _subscription_dump(engine) == before
    killed = tools.last_run(engine)
    assert (killed.kind, killed.status, killed.finished_at) == ("subscriptions", "running", None)
    assert tools.quarantine_db(engine, killed.id) == []

    rerun = run_import(settings, engine, "subscriptions", big)

    assert (rerun.exit_code, rerun.rows_inserted, rerun.rows_updated) == (0, n - 5, 5)
    assert tools.rows(engine, "SELECT count(*), count(DISTINCT external_id) FROM subscription") == [
        (n, n)
    ]
    assert tools.rows(engine, "SELECT mrr FROM subscription WHERE external_id = 's3'") == [(325,)]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_killed_events_import_leaves_the_warehouse_unchanged(
    settings, engine, tmp_path, run_import, tools
):
    n = 400_000
    assert run_import(settings, engine, "accounts", _accounts(tmp_path / "a.csv")).exit_code == 0
    earlier = _events(tmp_path / "earlier.csv", 5, prefix="old-")
    assert run_import(settings, engine, "events", earlier).exit_code == 0
    before = tools.warehouse_events(settings)
    assert len(before) == 5
    big = _events(tmp_path / "big.csv", n, prefix="new-")
    warehouse = settings.warehouse_path
    baseline = warehouse.stat().st_size

    watched = Watched(settings, "events", big)

    def inserting() -> bool:
        # DuckDB writes the new row groups into the file before COMMIT; growth before the
        # WAL appears means the INSERT is under way and not committed.
        past_reading = watched.phase is not None and watched.phase[0] in ("validating", "writing")
        wal = warehouse.with_name(warehouse.name + ".wal")
        return past_reading and warehouse.stat().st_size > baseline and not wal.exists()

    watched.kill_when(inserting)

    assert tools.event_count(settings) == 5
    assert tools.warehouse_events(settings) == before
    assert tools.last_run(engine).status == "running"

    rerun = run_import(settings, engine, "events", big)

    assert (rerun.exit_code, rerun.rows_inserted, rerun.rows_duplicate) == (0, n, 0)
    with_ids = tools.warehouse_events(settings)
    assert len(with_ids) == n + 5
    assert len({e["message_id"] for e in with_ids}) == n + 5
    again = run_import(settings, engine, "events", big)
    assert (again.rows_inserted, again.rows_duplicate) == (0, n)
    assert tools.event_count(settings) == n + 5


# --- 16. the warehouse writer lock ------------------------------------------------------------

_HOLDER = """
import sys
from pathlib import Path
from tenure.warehouse.connection import writer_lock
with writer_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def lock_holder(settings):
    """Run a second process that holds the warehouse writer lock until the test ends."""
    settings.ensure_data_dir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(settings.warehouse_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_events_import_fails_clearly_while_another_process_writes(
    settings, engine, files, run_cli, run_import, tools, lock_holder
):
    path = files.sample("events")

    result = run_cli(settings, "events", path)

    assert result.exit_code == 75, result.output
    message = tools.error_text(result)
    assert f"the warehouse {settings.warehouse_path} is being written by pid {lock_holder.pid}" in (
        message
    )
    assert "wait for it to finish or stop it, then retry" in message
    run = tools.last_run(engine)
    assert run.status == "failed"
    assert "is being written by" in run.error

    with pytest.raises(LockHeld, match="is being written by"):
        run_import(settings, engine, "events", path)

    # Entity imports do not need the warehouse and go ahead.
    assert (
        run_import(settings, engine, "subscriptions", files.sample("subscriptions")).exit_code == 0
    )

    lock_holder.stdin.close()
    lock_holder.wait(timeout=10)
    assert tools.event_count(settings) == 0
    assert run_import(settings, engine, "events", path).exit_code == 0
    assert tools.event_count(settings) == 3
