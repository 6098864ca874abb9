"""`tenure serve` as a real process: uvicorn factory, OpenAPI docs, embedded task consumer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .. import pg_switch

TENURE = str(Path(sys.executable).parent / "tenure")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, server: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode()
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_serve_answers_and_stops_cleanly(tmp_path: Path) -> None:
    """The served app answers /healthz and /docs, runs the queue in-process, stops on SIGTERM."""
    port = _free_port()
    data = tmp_path / "data"
    env = {**os.environ, "TENURE_SECRET_KEY": "serve-signing-key-" + "s" * 32}
    env |= pg_switch.subprocess_env(data)
    env.pop("TENURE_REDIS_URL", None)
    server = subprocess.Popen(
        [TENURE, "--data-dir", str(data), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        health = _wait(f"http://127.0.0.1:{port}/healthz", server)
        assert health.json() == {"status": "ok"}
        assert "swagger-ui" in httpx.get(f"http://127.0.0.1:{port}/docs").text
        paths = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["paths"]
        assert "/v1/auth/token" in paths
        assert (data / "tasks.db").exists()  # the embedded consumer opened the SQLite queue
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        finally:
            if server.poll() is None:
                server.kill()
    assert server.returncode == 0, server.stderr.read().decode()[-2000:]
