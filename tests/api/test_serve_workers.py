"""`tenure serve --workers 2` on Redis: metrics summed over workers, live updates across them.

Which worker answers a connection is the kernel's choice; the test reads it from /proc (the
worker holding the server end of the connection) and keeps one connection per worker.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from redis import Redis

from tenure.auth import service
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

from .. import pg_switch
from .broker_support import basic_auth, free_port
from .conftest import add_account

TENURE = str(Path(sys.executable).parent / "tenure")
REDIS_URL = "redis://127.0.0.1:6379/13"
PASSWORD = "workers-password-1234"
pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _server_inode(port: int, client_port: int) -> str | None:
    """Return the socket inode of the server end of 127.0.0.1:client_port → :port."""
    local, remote = f"0100007F:{port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _owner(server: subprocess.Popen, port: int, conn: http.client.HTTPConnection) -> int | None:
    """Return the pid of the worker that accepted this (open) connection."""
    inode = _server_inode(port, conn.sock.getsockname()[1])
    for pid in _children(server.pid):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    return None


def _get(conn: http.client.HTTPConnection, path: str, **headers: str) -> tuple[int, str]:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, response.read().decode()


def _one_connection_per_worker(server: subprocess.Popen, port: int) -> dict[int, object]:
    """Open connections until two workers each hold one; return them by worker pid."""
    by_worker: dict[int, http.client.HTTPConnection] = {}
    deadline = time.monotonic() + 180  # two workers importing the app on a busy machine
    while len(by_worker) < 2 and time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            _get(conn, "/healthz")
        except OSError:
            time.sleep(0.3)
            continue
        pid = _owner(server, port, conn)
        if pid is not None and pid not in by_worker:
            by_worker[pid] = conn
        else:
            conn.close()
    assert len(by_worker) == 2, "never reached a second worker"
    return by_worker


def _book(settings: Settings) -> str:
    """Migrate, add account A1 and an admin; return a tracking write key."""
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        add_account(session, "A1")
        service.create_user(session, "admin@example.com", PASSWORD, "admin")
        _, key = service.create_write_key(session, "website")
    engine.dispose()
    return key


def _log_in(conn: http.client.HTTPConnection) -> str:
    """Log in through the form on this connection; return the Cookie header to send."""
    conn.request("GET", "/login")
    page = conn.getresponse()
    csrf_cookie = page.getheader("set-cookie").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    form = f"email=admin%40example.com&password={PASSWORD}&csrf_token={token}&next=%2F"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf_cookie}
    conn.request("POST", "/login", body=form, headers=headers)
    response = conn.getresponse()
    response.read()
    assert response.status == 303, response.status
    cookies = [c.split(";")[0] for c in response.headers.get_all("set-cookie")]
    return "; ".join(c for c in cookies if c.startswith("tenure_session="))


def _read_events(response: http.client.HTTPResponse, seen: list[str]) -> None:
    """Append every server-sent event's name and data to seen (until the stream ends)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # closed at the test's end
        _read_lines(response, seen)


def _read_lines(response: http.client.HTTPResponse, seen: list[str]) -> None:
    name = ""
    for raw in response:
        line = raw.decode().strip()
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            seen.append(f"{name} {line.split(':', 1)[1].strip()}")


def _requests_counted(conn: http.client.HTTPConnection) -> float:
    status, text = _get(conn, "/metrics")
    assert status == 200
    pattern = r'tenure_http_requests_total\{method="GET",route="/readyz",status="(\d+)"\} (\S+)'
    return sum(float(value) for _, value in re.findall(pattern, text))


@pytest.fixture
def served(tmp_path: Path):
    """Run `tenure serve --workers 2` on Redis; yield (process, port, write key, data dir)."""
    if not Redis.from_url(REDIS_URL).ping():
        pytest.skip("Redis is not reachable")
    settings = Settings(data_dir=tmp_path / "data")
    key = _book(settings)
    port, log = free_port(), tmp_path / "serve.log"
    env = {
        **os.environ,
        "TENURE_CONFIG": str(tmp_path / "absent.toml"),
        "TENURE_SECRET_KEY": "workers-signing-key-" + "w" * 32,
        "TENURE_REDIS_URL": REDIS_URL,
        "TENURE_LIVE_CHANNEL": f"tenure.live.test.{uuid.uuid4().hex}",
        "TENURE_SECURE_COOKIES": "false",
        "TENURE_LOG_LEVEL": "ERROR",
        "TENURE_HEALTH_REFRESH_DELAY_SECONDS": "600",
    }
    env |= pg_switch.subprocess_env(settings.data_dir)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [TENURE, "--data-dir", str(settings.data_dir), "serve", "--port", str(port)]
    with open(log, "ab") as out:
        server = subprocess.Popen([*command, "--workers", "2"], env=env, stdout=out, stderr=out)
    try:
        yield server, port, key, settings.data_dir
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert not list(settings.data_dir.glob("metrics-*")), "the metrics dir was not removed"


def test_two_workers_sum_metrics_and_relay_live_updates(served) -> None:
    """/readyz counted on both workers shows summed; an event tracked on one reaches the other."""
    server, port, key, data_dir = served
    (pid_a, first), (pid_b, second) = _one_connection_per_worker(server, port).items()
    assert len(list(next(data_dir.glob("metrics-*")).glob("counter_*.db"))) == 2
    for conn, times in ((first, 3), (second, 4)):
        for _ in range(times):
            _get(conn, "/readyz")
    assert _requests_counted(first) == _requests_counted(second) == 7

    stream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    cookie = _log_in(stream)
    stream.request("GET", "/live", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    listening = stream.getresponse()
    assert listening.status == 200
    watcher = _owner(server, port, stream)
    other = second if watcher == pid_a else first
    seen: list[str] = []
    threading.Thread(target=_read_events, args=(listening, seen), daemon=True).start()
    deadline = time.monotonic() + 10
    while not any(s.startswith("ready") for s in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    body = {"batch": [{"type": "track", "messageId": "w-1", "event": "Login", "userId": "u1",
                       "context": {"groupId": "A1"}}]}  # fmt: skip
    other.request("POST", "/v1/batch", body=json.dumps(body),
                  headers={"Content-Type": "application/json", **basic_auth(key)})  # fmt: skip
    answer = other.getresponse()
    assert answer.status == 200, answer.read()
    answer.read()
    deadline = time.monotonic() + 15
    while not any(s.startswith("events_recorded") for s in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    recorded = [json.loads(s.split(" ", 1)[1]) for s in seen if s.startswith("events_recorded")]
    assert recorded and recorded[0]["payload"]["external_id"] == "A1", seen
    assert {watcher, _owner(server, port, other)} == {pid_a, pid_b}
    stream.close()
