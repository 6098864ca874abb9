"""Crash test: kill -9 `tenure serve` between an event's commit and its score refresh.

The events and their `health_refresh_queue` row commit together before /v1/track answers; the
refresh waits out `health_refresh_delay_seconds` (set high here), so the kill lands before it.
The restarted server's refresher picks up the queue row at start-up and refreshes the score.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tenure import clock
from tenure.auth import service
from tenure.db.session import session_scope
from tenure.health.models import HealthRefreshQueue, HealthScore

from .. import pg_switch

TENURE = str(Path(sys.executable).parent / "tenure")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data: Path, port: int, log: Path) -> subprocess.Popen:
    """Start `tenure serve` (no task consumer) with a 10-minute refresh delay."""
    env = {
        **os.environ,
        "TENURE_CONFIG": str(data / "absent.toml"),
        "TENURE_SECRET_KEY": "crash-signing-key-" + "c" * 32,
        "TENURE_HEALTH_REFRESH_DELAY_SECONDS": "600",
        "TENURE_LOG_LEVEL": "ERROR",
        **pg_switch.subprocess_env(data),
    }
    env.pop("TENURE_REDIS_URL", None)
    command = [TENURE, "--data-dir", str(data), "serve", "--port", str(port), "--no-worker"]
    with open(log, "ab") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"the server did not answer: {log.read_text()}")


def refreshed_within(engine: sa.Engine, account_id: int, seconds: float) -> bool:
    """Poll until the account has a score for today; False after seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if state(engine, account_id)[1] is not None:
            return True
        time.sleep(0.1)
    return False


def state(engine: sa.Engine, account_id: int) -> tuple[list[int], HealthScore | None]:
    """Return the queued accounts and the account's score for today."""
    with session_scope(engine) as session:
        queued = list(session.scalars(sa.select(HealthRefreshQueue.account_id)))
        today = session.scalar(
            sa.select(HealthScore).where(
                HealthScore.account_id == account_id, HealthScore.as_of == clock.now().date()
            )
        )
    return queued, today


@pytest.mark.slow
def test_kill_9_before_the_refresh_then_restart_refreshes_the_score(
    settings, engine, book, tmp_path: Path
) -> None:
    account_id = book.account("acme", seats=5)
    with session_scope(engine) as session:
        _, key = service.create_write_key(session, "website")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    port, log = _free_port(), tmp_path / "server.log"

    server = start_server(settings.data_dir, port, log)
    try:
        for n, name in enumerate(("login", "report_viewed", "export_run")):
            body = {"event": name, "userId": f"u{n}", "context": {"groupId": "acme"}}
            response = httpx.post(f"http://127.0.0.1:{port}/v1/track", json=body, headers=auth)
            assert response.status_code == 200, response.text
        assert state(engine, account_id) == ([account_id], None)  # committed, not refreshed
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    assert state(engine, account_id) == ([account_id], None)  # the kill lost nothing

    server = start_server(settings.data_dir, port, log)
    try:
        assert refreshed_within(engine, account_id, 30), log.read_text()
        queued, today = state(engine, account_id)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    assert queued == []
    assert today.measures["usage_breadth"]["value"] == 3
    assert today.measures["login_recency"]["value"] == 0
    assert today.measures["seat_utilisation"]["value"] == pytest.approx(3 / 5)
