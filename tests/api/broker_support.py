"""Helpers of the broker tests: NATS reachability, a throwaway stream, subprocesses, a load."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent

from .. import pg_switch

NATS_HOST, NATS_PORT = "127.0.0.1", 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
NATS_DOWN = f"NATS JetStream is not reachable at {NATS_HOST}:{NATS_PORT}"
TENURE = str(Path(sys.executable).parent / "tenure")


def nats_reachable() -> bool:
    """Return True if something listens on the NATS port."""
    try:
        with socket.create_connection((NATS_HOST, NATS_PORT), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def delete_stream(name: str) -> None:
    """Delete a test's JetStream stream (and its consumer)."""
    import nats

    async def drop() -> None:
        nc = await nats.connect(NATS_URL)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(name)
        await nc.close()

    asyncio.run(drop())


def basic_auth(key: str) -> dict[str, str]:
    """Return the tracking Authorization header of a write key."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def stored_ids(engine: sa.Engine, prefix: str = "") -> list[str]:
    """Return every inbox message id (starting with prefix), duplicates kept."""
    with session_scope(engine) as session:
        query = sa.select(InboxEvent.message_id).where(InboxEvent.message_id.like(prefix + "%"))
        return list(session.scalars(query))


def environment(settings: Settings) -> dict[str, str]:
    """Return the environment of a `tenure` subprocess on settings' broker and data dir."""
    env = {
        **os.environ,
        "TENURE_CONFIG": str(settings.data_dir / "absent.toml"),
        "TENURE_SECRET_KEY": settings.secret_key or "",
        "TENURE_LOG_LEVEL": "ERROR",
        "TENURE_HEALTH_REFRESH_DELAY_SECONDS": "600",
    }
    for name in ("url", "stream", "subject", "consumer", "ack_wait_seconds", "timeout_seconds"):
        env[f"TENURE_EVENT_BROKER_{name.upper()}"] = str(getattr(settings, f"event_broker_{name}"))
    if settings.database_url:
        env["TENURE_DATABASE_URL"] = settings.database_url
    else:
        env |= pg_switch.subprocess_env(settings.data_dir)
    env.pop("TENURE_REDIS_URL", None)
    return env


def start_server(settings: Settings, port: int, log: Path) -> subprocess.Popen:
    """Start `tenure serve` (one worker, no task consumer) and wait until it answers."""
    command = [TENURE, "--data-dir", str(settings.data_dir), "serve", "--port", str(port)]
    with open(log, "ab") as out:
        server = subprocess.Popen(
            [*command, "--no-worker"], env=environment(settings), stdout=out, stderr=out
        )
    deadline = time.monotonic() + 120  # a busy 2-core machine can take long to start
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"the server did not answer: {log.read_text()}")


def start_consumer(settings: Settings, log: Path) -> subprocess.Popen:
    """Start `tenure consume --no-realtime` on settings' broker."""
    command = [TENURE, "--data-dir", str(settings.data_dir), "consume", "--no-realtime"]
    with open(log, "ab") as out:
        return subprocess.Popen(command, env=environment(settings), stdout=out, stderr=out)


def kill_9(process: subprocess.Popen) -> None:
    """SIGKILL a process and reap it."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


class Load(threading.Thread):
    """Post batches of new events in a loop, remembering the ids of acknowledged ones."""

    def __init__(self, port: int, key: str, *, size: int = 50, tag: str = "L") -> None:
        super().__init__(daemon=True)
        self.url, self.headers = f"http://127.0.0.1:{port}/v1/batch", basic_auth(key)
        self.size, self.tag = size, tag
        self.acknowledged: list[str] = []
        self.sent = self.failed = self.unavailable = 0
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def batch(self, n: int) -> dict:
        """Return request n's body: size track calls for accounts A1..A3."""
        messages = [
            {
                "type": "track",
                "messageId": f"{self.tag}{n}-{i}",
                "event": "Feature Used",
                "userId": f"u{i}",
                "context": {"groupId": f"A{i % 3 + 1}"},
            }
            for i in range(self.size)
        ]
        return {"batch": messages}

    def run(self) -> None:
        """Post until stopped; connection errors and 503s are not acknowledged."""
        with httpx.Client(timeout=10) as client:
            n = 0
            while not self.stopping.is_set():
                n += 1
                body = self.batch(n)
                self.sent += self.size
                try:
                    response = client.post(self.url, json=body, headers=self.headers)
                except httpx.HTTPError:
                    self.failed += 1
                    time.sleep(0.05)
                    continue
                if response.status_code == 200 and response.json()["accepted"] == self.size:
                    self.acknowledged.extend(m["messageId"] for m in body["batch"])
                elif response.status_code == 503:
                    self.unavailable += 1
                else:
                    self.errors.append(f"{response.status_code}: {response.text[:200]}")
                time.sleep(0.01)  # leave the machine's cores to the processes under test

    def stop(self) -> None:
        """Stop posting and wait for the last request."""
        self.stopping.set()
        self.join(timeout=30)
