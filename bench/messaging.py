"""Render + send personalised emails through send_message and the outbox vs bare smtplib.

Prints one JSON object. The SMTP server (aiosmtpd, counting receipts) runs in another process.
Tenure's path: `send_message` for every contact (template load, consent, context, sandboxed
render, Message + outbox rows; one transaction per 500 contacts), then one drain of the outbox
(batch claims, one SMTP session, "sent" committed after each acceptance). The baseline sends
the same messages, already rendered and serialised, with bare smtplib over one connection.
Target: tenure end to end ≥ 0.5 × bare.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import smtplib
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from tenure.accounts.models import Account, Contact
from tenure.alerts.channels import email_bytes
from tenure.alerts.delivery import deliver_due
from tenure.alerts.models import AlertDelivery
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.messaging.models import MessageTemplate
from tenure.messaging.sending import MessageOrigin, send_message

T0 = datetime(2024, 1, 1, tzinfo=UTC)
COMMIT_EVERY = 500
BODY = """<h1>Hi {{ contact.first_name }},</h1>
<p>{{ account.name }} has been with us a while. Your CSM {{ account.owner }} put together a few
tips for {{ contact.role or "your team" }}.</p>
{% for tip in ["Reports", "Alerts", "Journeys"] %}<p>{{ loop.index }}. {{ tip }}</p>{% endfor %}
<p>Reply to this email to reach {{ account.owner }}.</p>"""
TEXT = "Hi {{ contact.first_name }}, {{ account.name }}: tips from {{ account.owner }}."


def serve(port: int, received, ready) -> None:
    """Run an aiosmtpd server counting accepted messages (in a child process)."""
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(engine, contacts: int) -> None:
    """Write accounts of 10 contacts each (marketing consent given) and one template."""
    with session_scope(engine) as session:
        session.add(
            MessageTemplate(
                name="tips", version=1, subject="Tips for {{ account.name }}", body=BODY,
                text_body=TEXT, purpose="marketing", created_at=T0,
            )
        )  # fmt: skip
        accounts = [
            Account(
                external_id=f"a{n}", name=f"Account {n}", owner=f"csm{n % 20}@example.com",
                created_at=T0, attributes={},
            )
            for n in range((contacts + 9) // 10)
        ]  # fmt: skip
        session.add_all(accounts)
        session.flush()
        session.add_all(
            Contact(
                account_id=accounts[n // 10].id, external_id=f"c{n}", name=f"Ada Number{n}",
                email=f"c{n}@d{n % 50}.example", role="admin", consent={"email": True},
                created_at=T0,
            )
            for n in range(contacts)
        )  # fmt: skip


def queue_all(engine, settings: Settings) -> int:
    """Call send_message for every contact, one transaction per COMMIT_EVERY; return the count."""
    with session_scope(engine) as session:
        ids = list(session.scalars(sa.select(Contact.id).order_by(Contact.id)))
    for start in range(0, len(ids), COMMIT_EVERY):
        with session_scope(engine) as session:
            pairs = session.execute(
                sa.select(Contact, Account)
                .join(Account, Account.id == Contact.account_id)
                .where(Contact.id.in_(ids[start : start + COMMIT_EVERY]))
            ).all()
            for contact, account in pairs:
                send_message(
                    session, settings, account=account, contact=contact, template="tips",
                    version=1, origin=MessageOrigin(idempotency_key=f"bench-{contact.id}"),
                )  # fmt: skip
    return len(ids)


def prerendered(engine, settings: Settings) -> list[tuple[str, bytes]]:
    """Return (recipient, serialised email) of every outbox row, for the baseline."""
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(AlertDelivery).order_by(AlertDelivery.id)).all()
        return [(row.target, email_bytes(settings, row)) for row in rows]


def bare(settings: Settings, emails: list[tuple[str, bytes]]) -> float:
    """Send pre-rendered emails with bare smtplib over one connection; return the seconds."""
    started = time.perf_counter()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        for to, raw in emails:
            smtp.sendmail(settings.mail_from, [to], raw)
    return time.perf_counter() - started


def run(count: int, profile: str | None) -> dict[str, object]:
    """Queue and drain count messages, then the bare baseline; return the figures."""
    port, received, ready = free_port(), multiprocessing.Value("i", 0), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, received, ready), daemon=True)
    server.start()
    ready.wait(30)
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(data_dir=Path(folder), smtp_port=port, delivery_batch_size=500)
            engine = get_engine(settings)
            migrate(engine)
            seed(engine, count)
            profiler = _profiler(profile == "queue")
            started = time.perf_counter()
            queued = queue_all(engine, settings)
            rendered = time.perf_counter()
            profiler = _stop(profiler) or _profiler(profile == "drain")
            report = deliver_due(engine, settings)
            drained = time.perf_counter()
            _stop(profiler)
            emails = prerendered(engine, settings)
            bare_seconds = bare(settings, emails)
            engine.dispose()
    finally:
        server.kill()
    tenure_rate = queued / (drained - started)
    bare_rate = len(emails) / bare_seconds
    return {
        "messages": queued,
        "sent": report.sent,
        "receipts_both_runs": received.value,
        "render_queue_per_second": round(queued / (rendered - started), 1),
        "drain_per_second": round(report.sent / (drained - rendered), 1),
        "tenure_end_to_end_per_second": round(tenure_rate, 1),
        "bare_smtplib_per_second": round(bare_rate, 1),
        "ratio": round(tenure_rate / bare_rate, 3),
    }


def _profiler(enabled: bool):
    if not enabled:
        return None
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    return profiler


def _stop(profiler) -> None:
    if profiler is not None:
        profiler.stop()
        profiler.print(file=sys.stderr, show_all=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument(
        "--profile", choices=("queue", "drain"), help="pyinstrument tree of a phase on stderr"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.messages, args.profile)))


if __name__ == "__main__":
    sys.exit(main())
