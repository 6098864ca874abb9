"""Benchmark alert delivery through the outbox against bare SMTP sends, in one run.

Prints one JSON object: deliveries per second through the outbox (claim → send → mark, each a
committed SQLite transaction) vs. the same emails sent with bare smtplib (the ratio is the
outbox's cost), the duplicate window (receiver accepted → worker committed "sent", p50/p99/max:
only a crash inside it can repeat a message), and the bulk evaluation of the default rules.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tenure.accounts.models import Account, Subscription
from tenure.alerts import flows, outbox
from tenure.alerts.delivery import deliver_due
from tenure.alerts.models import AlertDelivery
from tenure.alerts.routing import Routing
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.health.models import HealthScore


class Sink:
    """An SMTP handler that records when each message was accepted."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):
        key = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in envelope.content.splitlines()
                if line.startswith(b"X-Tenure-Idempotency-Key:")
            ),
            f"raw-{len(self.accepted)}",
        )
        self.accepted[key] = time.perf_counter()
        return "250 OK"


def seed(engine, accounts: int) -> list[int]:
    """Write accounts with subscriptions and two days of health (a third turn red)."""
    day = date.today()
    with session_scope(engine) as session:
        rows = [
            Account(
                external_id=f"a{n}",
                name=f"Account {n}",
                owner=f"csm{n % 20}@example.com",
                created_at=datetime(2024, 1, 1, tzinfo=UTC),
                attributes={},
            )
            for n in range(accounts)
        ]
        session.add_all(rows)
        session.flush()
        for account in rows:
            session.add(
                Subscription(
                    account_id=account.id,
                    external_id=f"s{account.id}",
                    plan="pro",
                    status="active",
                    mrr=1000,
                    currency="USD",
                    started_at=datetime(2024, 1, 1, tzinfo=UTC),
                )
            )
            red = account.id % 3 == 0
            for offset, score, tier in (
                (1, 70, "yellow"),
                (0, 40 if red else 72, "red" if red else "yellow"),
            ):
                session.add(
                    HealthScore(
                        account_id=account.id,
                        as_of=day - timedelta(days=offset),
                        scorecard="default",
                        score=score,
                        tier=tier,
                        measures={},
                        updated_at=datetime.now(UTC),
                    )
                )
        return [a.id for a in rows]


def outbox_run(engine, settings: Settings, sink: Sink) -> dict[str, float]:
    """Drain the outbox as the worker does, timing when each "sent" was committed."""
    windows: list[float] = []
    record_sent = outbox.record_sent

    def timed_record_sent(connection, delivery_id: int, message_id: int | None = None) -> None:
        record_sent(connection, delivery_id, message_id)
        committed = time.perf_counter()
        key = connection.execute(
            sa.select(AlertDelivery.idempotency_key).where(AlertDelivery.id == delivery_id)
        ).scalar_one()
        windows.append(committed - sink.accepted[key])

    outbox.record_sent = timed_record_sent  # instrument the worker's own path, nothing else
    started = time.perf_counter()
    try:
        sent = deliver_due(engine, settings).sent  # the worker's drain: batches, one session
    finally:
        outbox.record_sent = record_sent
    elapsed = time.perf_counter() - started
    windows.sort()
    return {
        "sent": sent,
        "per_second": sent / elapsed,
        "window_ms_p50": 1000 * statistics.median(windows),
        "window_ms_p99": 1000 * windows[int(0.99 * (len(windows) - 1))],
        "window_ms_max": 1000 * windows[-1],
    }


def bare_run(settings: Settings, count: int) -> float:
    """Send count emails with bare smtplib, one connection each; return emails per second."""
    started = time.perf_counter()
    for n in range(count):
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            smtp.sendmail(
                settings.mail_from,
                [f"csm{n % 20}@example.com"],
                f"Subject: bare {n}\r\n\r\nbody\r\n",
            )
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=3000)
    args = parser.parse_args()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=8925)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            # A budget above the book: every alert is delivered at once, so the outbox is measured
            # on all of them (the budget's ranking still runs inside evaluate_day).
            settings = Settings(
                data_dir=Path(folder), smtp_port=8925, alerts_daily_budget=args.accounts
            )
            engine = get_engine(settings)
            migrate(engine)
            seed(engine, args.accounts)
            started = time.perf_counter()
            with session_scope(engine) as session:
                opened = flows.evaluate_day(session, settings, date.today(), Routing())
            evaluate_seconds = time.perf_counter() - started
            result = outbox_run(engine, settings, sink)
            bare = bare_run(settings, result["sent"])
    finally:
        controller.stop()
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "alerts_opened": sum(opened.opened.values()),
                "evaluate_day_seconds": round(evaluate_seconds, 3),
                "outbox_emails_per_second": round(result["per_second"], 1),
                "bare_smtp_emails_per_second": round(bare, 1),
                "outbox_vs_bare_ratio": round(result["per_second"] / bare, 3),
                "duplicate_window_ms": {
                    k.removeprefix("window_ms_"): round(v, 3)
                    for k, v in result.items()
                    if k.startswith("window")
                },
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
