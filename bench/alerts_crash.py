"""Kill -9 the alert worker at random moments while it delivers, and count what arrived.

Prints one JSON object: deliveries expected, kills, raw receipts at a real SMTP server and a
webhook receiver (no de-duplication at the receivers), how many messages were lost (must be
0) and how many arrived twice (only possible when a kill lands in the window between the
receiver's acceptance and the worker's commit of "sent"; see duplicate_window_ms in
bench/alerts.py), against a baseline of the same deliveries with no kill.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tenure.accounts.models import Account
from tenure.alerts import service
from tenure.alerts.models import AlertDelivery
from tenure.alerts.routing import Routing
from tenure.alerts.schemas import Trigger
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

TENURE = str(Path(sys.executable).with_name("tenure"))


class SmtpSink:
    """Record the idempotency key of every message accepted."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.keys.append(message_from_bytes(envelope.content)["X-Tenure-Idempotency-Key"])
        return "250 OK"


def http_sink() -> tuple[ThreadingHTTPServer, list[str]]:
    """Start a webhook receiver recording every accepted request's idempotency key."""
    keys: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            keys.append(self.headers["Idempotency-Key"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, keys


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def queue(engine, alerts: int) -> None:
    """Open `alerts` alerts with an email and a webhook delivery each."""
    with session_scope(engine) as session:
        accounts = [
            Account(
                external_id=f"a{n}",
                name=f"Account {n}",
                owner="csm@example.com",
                created_at=datetime(2024, 1, 1, tzinfo=UTC),
                attributes={},
            )
            for n in range(alerts)
        ]
        session.add_all(accounts)
        session.flush()
        rule = service.save_rule(
            session, {"name": "red", "kind": "tier_change", "channels": ["email", "webhook:ops"]}
        )
        service.open_alerts(
            session,
            rule,
            [Trigger(a.id, "went red") for a in accounts],
            Routing(webhooks=frozenset({"ops"})),
        )


def sent(engine) -> int:
    with session_scope(engine) as session:
        query = sa.select(sa.func.count()).where(AlertDelivery.status == "sent")
        return session.scalar(query.select_from(AlertDelivery)) or 0


def run(alerts: int, kill_every: tuple[float, float] | None, seed: int) -> dict[str, object]:
    """Deliver `alerts` alerts, killing the worker at random intervals; return the counts."""
    rng = random.Random(seed)
    smtp, smtp_port = SmtpSink(), free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    server, hooks = http_sink()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        engine = get_engine(settings)
        migrate(engine)
        queue(engine, alerts)
        env = {
            **os.environ,
            "TENURE_DATA_DIR": folder,
            "TENURE_SMTP_PORT": str(smtp_port),
            "TENURE_CONFIG": f"{folder}/absent.toml",
            "TENURE_LOG_LEVEL": "ERROR",
            "TENURE_ALERT_DELIVERY_LEASE_SECONDS": "1",
            "TENURE_ALERT_WEBHOOKS": json.dumps(
                {"ops": {"url": f"http://127.0.0.1:{server.server_address[1]}/", "secret": "s"}}
            ),
        }
        kills, started = 0, time.perf_counter()
        while sent(engine) < 2 * alerts:
            worker = subprocess.Popen(
                [TENURE, "worker", "--workers", "1", "--no-periodic"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if kill_every is None:
                while sent(engine) < 2 * alerts:
                    time.sleep(0.05)
                worker.send_signal(signal.SIGINT)
            else:
                before = sent(engine)  # wait for the worker to be delivering, then a random moment
                while sent(engine) == before and worker.poll() is None:
                    time.sleep(0.01)
                time.sleep(rng.uniform(*kill_every))
                worker.send_signal(signal.SIGKILL)
                kills += 1
            worker.wait(timeout=30)
        elapsed = time.perf_counter() - started
        engine.dispose()
    controller.stop()
    server.shutdown()
    email, hook = Counter(smtp.keys), Counter(hooks)
    return {
        "kills": kills,
        "seconds": round(elapsed, 1),
        "email_receipts": len(smtp.keys),
        "webhook_receipts": len(hooks),
        "lost": 2 * alerts - len(email) - len(hook),
        "duplicates": sum(n - 1 for n in email.values()) + sum(n - 1 for n in hook.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    baseline = run(args.alerts, None, args.seed)
    crashed = run(args.alerts, (0.0, 0.5), args.seed)
    print(
        json.dumps(
            {
                "alerts": args.alerts,
                "deliveries": 2 * args.alerts,
                "no_kill": baseline,
                "random_kill_9": crashed,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
