"""Alert test fixtures: a small book of accounts, real SMTP and HTTP receivers on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tenure.db.session import session_scope

from ..factories import add_account, add_health_score, add_subscription

DAY = date(2025, 6, 30)  # the frozen clock's day


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """Return a UTC instant."""
    return datetime(year, month, day, hour, tzinfo=UTC)


class Book:
    """Writes accounts and health scores for alert tests."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def account(
        self,
        external_id: str,
        *,
        owner: str | None = "csm@example.com",
        interval: str = "month",
        started: datetime | None = None,
        created: datetime | None = None,
    ) -> int:
        """Write an account with one open subscription; return its id."""
        with session_scope(self.engine) as session:
            account = add_account(
                session, external_id, created_at=created or at(2024, 1, 1), owner=owner
            )
            add_subscription(
                session,
                account,
                mrr=50_000,
                quantity=5,
                billing_interval=interval,
                started_at=started or at(2024, 1, 1),
            )
            return account.id

    def health(self, account_id: int, as_of: date, score: float, tier: str) -> None:
        """Write one day's health score."""
        with session_scope(self.engine) as session:
            add_health_score(
                session,
                account_id,
                as_of=as_of,
                score=score,
                tier=tier,
                updated_at=at(as_of.year, as_of.month, as_of.day, 6),
            )

    def add(self, *rows: Any) -> None:
        """Write ORM rows."""
        with session_scope(self.engine) as session:
            session.add_all(rows)


@pytest.fixture
def book(engine) -> Book:
    """Return a Book on the SQLite app DB."""
    return Book(engine)


@pytest.fixture
def any_book(any_engine) -> Book:
    """Return a Book on SQLite and on PostgreSQL."""
    return Book(any_engine)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpSink:
    """Every message the SMTP server accepted (raw receipts, duplicates included)."""

    port: int
    messages: list[Any] = field(default_factory=list)
    rcpt_delay: float = 0.0
    rcpts: int = 0  # RCPT commands seen: the N-th means the N-th transaction is under way

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts += 1
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        """Return the Message-ID of every receipt."""
        return [m["Message-ID"] for m in self.messages]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """Run a real aiosmtpd server on loopback; yield what it received."""
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class HttpSink:
    """Every request a loopback HTTP receiver got, and the status codes it should answer."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        """Return the status to answer for the next request."""
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def accepted(self) -> list[dict[str, Any]]:
        """Return the requests that were answered 2xx."""
        return [r for r in self.requests if 200 <= r["status"] < 300]


def _handler(sink: HttpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = sink.next_status()
            with sink.lock:
                sink.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "json": json.loads(body),
                        "status": status,
                        "received": time.monotonic(),
                    }
                )
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            return

    return Handler


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """Run a real HTTP receiver on loopback; yield what it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(HttpSink(url="")))
    sink = HttpSink(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    server.RequestHandlerClass = _handler(sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll predicate until it is true or timeout seconds passed; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def wait_for() -> Callable[..., bool]:
    """Return a poller: wait_for(predicate, timeout=20.0) -> bool."""
    return _wait_for
