"""Crash test: SIGKILL `tenure messages deliver` mid-send, restart it, count raw receipts.

300 messages are queued through send_message. The SMTP server does not de-duplicate: it
records every message it accepted. Three kills land while the sender waits for the server's
answer to a RCPT (the server is slow on exactly those), so each leaves a batch of claimed,
unsent rows behind that a later run takes over after the lease. Every message must arrive
exactly once, counted by Message-ID and by idempotency header, and be marked sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tenure.db.session import session_scope
from tenure.messaging.models import Message

from .. import pg_switch
from ..alerts.conftest import _wait_for as wait_for
from ..alerts.conftest import free_port
from .delivery_helpers import ScriptedSink, queue_messages

MESSAGES = 300
KILL_AT_RCPT = (60, 150, 230)  # the server is slow to answer these RCPTs: the kills land there
TENURE = str(Path(sys.executable).with_name("tenure"))


@dataclass
class SlowAtSink(ScriptedSink):
    """A sink that answers the N-th RCPT after a long pause for N in slow."""

    slow: set[int] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpts + 1 in self.slow:
            self.rcpts += 1
            await asyncio.sleep(5)
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def slow_sink() -> Iterator[SlowAtSink]:
    """Run the sink on loopback."""
    sink = SlowAtSink(port=free_port(), slow=set(KILL_AT_RCPT))
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def deliver(settings, sink) -> subprocess.Popen:
    """Start `tenure messages deliver` against the sink (lease 1 s, batches of 50)."""
    env = {
        **os.environ,
        "TENURE_CONFIG": str(settings.data_dir / "absent.toml"),
        "TENURE_DATA_DIR": str(settings.data_dir),
        "TENURE_SMTP_PORT": str(sink.port),
        "TENURE_ALERT_DELIVERY_LEASE_SECONDS": "1",
        "TENURE_DELIVERY_BATCH_SIZE": "50",
        "TENURE_LOG_LEVEL": "ERROR",
        **pg_switch.subprocess_env(settings.data_dir),
    }
    command = [TENURE, "messages", "deliver", "--json"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def sent(engine) -> int:
    with session_scope(engine) as session:
        query = sa.select(sa.func.count()).where(Message.status == "sent")
        return session.scalar(query.select_from(Message)) or 0


@pytest.mark.slow
def test_sigkill_mid_send_loses_and_repeats_nothing(engine, settings, slow_sink):
    """Three SIGKILLs inside SMTP transactions, then restarts until done: each message once."""
    queue_messages(engine, settings, [f"c{n}@d{n % 7}.example" for n in range(MESSAGES)])
    for kills, rcpt in enumerate(KILL_AT_RCPT):
        process = deliver(settings, slow_sink)
        assert wait_for(lambda n=rcpt: slow_sink.rcpts >= n, timeout=30), process.stderr
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        # every RCPT before this one belongs to a message received, or to one killed before
        assert len(slow_sink.messages) == rcpt - 1 - kills
    for _ in range(10):
        if sent(engine) == MESSAGES:
            break
        process = deliver(settings, slow_sink)
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 0, errors
        time.sleep(0.5)  # let the killed runs' leases (1 s) run out
    assert sent(engine) == MESSAGES
    by_id = Counter(slow_sink.message_ids())
    by_key = Counter(m["X-Tenure-Idempotency-Key"] for m in slow_sink.messages)
    assert len(by_id) == MESSAGES and set(by_id.values()) == {1}
    assert len(by_key) == MESSAGES and set(by_key.values()) == {1}
