"""Crash test: kill -9 the worker mid-delivery, restart it, count raw receipts.

Every alert must reach the SMTP server and the webhook receiver exactly once. The receivers do
not de-duplicate: they record every message / every accepted request. The kills land while the
worker is inside an SMTP transaction (the server is slow to answer RCPT) and while a webhook
retry is pending; the one window the outbox cannot close (after the receiver accepted, before
the worker recorded it, about a millisecond) is documented in tenure.alerts.outbox.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tenure.alerts import service
from tenure.alerts.models import AlertDelivery
from tenure.alerts.routing import Routing
from tenure.alerts.schemas import Trigger
from tenure.db.session import session_scope

from .. import pg_switch

ALERTS = 8
TENURE = str(Path(sys.executable).with_name("tenure"))


def worker_env(settings, smtp_sink, http_sink) -> dict[str, str]:
    """Return the environment of a worker pointed at the test's data dir and receivers."""
    hooks = {"ops": {"url": http_sink.url, "secret": "s3cret"}}
    return {
        **os.environ,
        "TENURE_CONFIG": str(settings.data_dir / "absent.toml"),
        "TENURE_DATA_DIR": str(settings.data_dir),
        "TENURE_SMTP_HOST": "127.0.0.1",
        "TENURE_SMTP_PORT": str(smtp_sink.port),
        "TENURE_ALERT_WEBHOOKS": json.dumps(hooks),
        "TENURE_ALERT_DELIVERY_LEASE_SECONDS": "1",
        "TENURE_ALERT_DELIVERY_BACKOFF_SECONDS": "0.5",
        "TENURE_LOG_LEVEL": "ERROR",
        **pg_switch.subprocess_env(settings.data_dir),
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `tenure worker` (one thread, no periodic tasks) as a child process."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [TENURE, "worker", "--workers", "1", "--no-periodic"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill9(process: subprocess.Popen) -> None:
    """Kill the worker without any chance to clean up."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def counts(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        query = sa.select(AlertDelivery.status, sa.func.count()).group_by(AlertDelivery.status)
        return dict(session.execute(query).all())


def queue_alerts(engine, book) -> None:
    """Open ALERTS alerts, each with an email and a signed webhook delivery."""
    accounts = [book.account(f"acct-{n}") for n in range(ALERTS)]
    routing = Routing(webhooks=frozenset({"ops"}))
    with session_scope(engine) as session:
        rule = service.save_rule(
            session, {"name": "red", "kind": "tier_change", "channels": ["email", "webhook:ops"]}
        )
        service.open_alerts(session, rule, [Trigger(a, "went red") for a in accounts], routing)


@pytest.mark.slow
def test_kill_9_mid_delivery_delivers_each_alert_exactly_once(
    engine, book, settings, smtp_sink, http_sink, wait_for, tmp_path
):
    """Two kill -9s (inside an SMTP transaction; with a retry pending), then all exactly once."""
    queue_alerts(engine, book)
    env, log = worker_env(settings, smtp_sink, http_sink), tmp_path / "worker.log"
    smtp_sink.rcpt_delay = 0.3

    # 1. Kill while the worker waits for the SMTP server to answer the 4th RCPT.
    worker = start_worker(env, log)
    assert wait_for(lambda: smtp_sink.rcpts >= 4, timeout=60), log.read_text()
    kill9(worker)
    assert len(smtp_sink.messages) == 3
    left = counts(engine)  # the dead worker's batch claim: every row it had not sent yet
    assert left.get("sending", 0) >= 1 and left["sending"] + left.get("sent", 0) == 2 * ALERTS

    # 2. Restart; the receiver refuses the next two webhooks; kill while the retry waits.
    http_sink.statuses = [503, 503]
    worker = start_worker(env, log)
    assert wait_for(lambda: len(http_sink.requests) >= 5, timeout=60), log.read_text()
    kill9(worker)
    assert counts(engine).get("pending", 0) >= 1

    # 3. Restart and let it finish.
    smtp_sink.rcpt_delay = 0.0
    worker = start_worker(env, log)
    try:
        assert wait_for(lambda: counts(engine) == {"sent": 2 * ALERTS}, timeout=60), counts(engine)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=20)

    emails = Counter(m["X-Tenure-Idempotency-Key"] for m in smtp_sink.messages)
    hooks = Counter(r["headers"]["Idempotency-Key"] for r in http_sink.accepted())
    assert len(smtp_sink.messages) == ALERTS and set(emails.values()) == {1}
    assert len(http_sink.accepted()) == ALERTS and set(hooks.values()) == {1}
    assert [r["status"] for r in http_sink.requests].count(503) == 2
