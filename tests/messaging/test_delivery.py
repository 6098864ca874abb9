"""Messages through the one outbox to a real SMTP server: one session, rates, retries, bounces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tenure.accounts.models import Contact
from tenure.alerts import outbox
from tenure.alerts.delivery import deliver_due
from tenure.alerts.models import AlertDelivery
from tenure.alerts.ratelimit import DomainLimiter
from tenure.db.session import session_scope
from tenure.messaging.consent import may_send
from tenure.messaging.models import Message, Suppression

from ..alerts.conftest import free_port
from .delivery_helpers import NOW, ScriptedSink, queue_messages


@pytest.fixture
def sink() -> Iterator[ScriptedSink]:
    """Run a scripted aiosmtpd server on loopback."""
    server = ScriptedSink(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def pointed(settings, sink, **extra):
    """Return settings sending to the sink."""
    return settings.model_copy(update={"smtp_port": sink.port, "mail_from": "cs@x.io", **extra})


def messages(engine) -> dict[str, tuple[str, object]]:
    """Return each message's status and sent_at by recipient."""
    with session_scope(engine) as session:
        rows = session.execute(sa.select(Message.to_email, Message.status, Message.sent_at))
        return {to: (status, sent_at) for to, status, sent_at in rows}


def test_one_smtp_session_for_a_whole_drain(engine, settings, sink, frozen_clock):
    """Twelve messages, batches of five: one connection, one EHLO, every message once."""
    settings = pointed(settings, sink, delivery_batch_size=5)
    queue_messages(engine, settings, [f"c{n}@acme.io" for n in range(12)])
    assert deliver_due(engine, settings).counts()["sent"] == 12
    assert (sink.ehlos, len(sink.peers), len(sink.messages)) == (1, 1, 12)
    assert len(set(sink.message_ids())) == 12
    assert {status for status, _ in messages(engine).values()} == {"sent"}
    assert {sent_at for _, sent_at in messages(engine).values()} == {NOW}
    assert deliver_due(engine, settings).total() == 0


def test_claims_a_batch_per_transaction(engine, settings, frozen_clock):
    """claim_batch takes the oldest due rows at once; a second claim takes the rest."""
    queue_messages(engine, settings, [f"c{n}@acme.io" for n in range(7)])
    with session_scope(engine) as session:
        first = outbox.claim_batch(session, 300, 5)
    with session_scope(engine) as session:
        second = outbox.claim_batch(session, 300, 5)
        assert outbox.claim_batch(session, 300, 5) == []
    assert [d.id for d in first] == sorted(d.id for d in first)
    assert len(first) == 5 and len(second) == 2 and max(d.id for d in first) < second[0].id
    assert {d.status for d in first + second} == {"sending"}


def test_a_claim_is_renewed_only_by_its_owner(engine, settings, frozen_clock):
    """renew_claims extends this worker's claim; a claim taken over since is left alone."""
    queue_messages(engine, settings, ["a@acme.io", "b@acme.io"])
    with session_scope(engine) as session:
        batch = outbox.claim_batch(session, 300, 5)
    ids, claimed_at = [d.id for d in batch], batch[0].claimed_at
    later = NOW + timedelta(seconds=200)
    with engine.connect() as connection:
        assert outbox.renew_claims(connection, ids, claimed_at, later) == ids
        assert outbox.renew_claims(connection, ids, claimed_at, later) == []  # no longer ours
    with session_scope(engine) as session:
        stamps = session.scalars(sa.select(AlertDelivery.claimed_at)).all()
        assert [s.replace(tzinfo=UTC) for s in stamps] == [later, later]


def test_rate_per_domain_defers_without_failing(engine, settings, sink, frozen_clock):
    """2/s per domain: 3 of 5 to acme.io wait their turn (0.5 s apart), other.io goes at once."""
    settings = pointed(settings, sink, smtp_domain_rate=2.0)
    addresses = [f"c{n}@acme.io" for n in range(5)] + ["d@other.io"]
    queue_messages(engine, settings, addresses)
    report = deliver_due(engine, settings).counts()
    assert (report["sent"], report["deferred"], report["failed"]) == (3, 3, 0)
    with session_scope(engine) as session:
        waiting = session.execute(
            sa.select(AlertDelivery.next_attempt_at, AlertDelivery.attempts)
            .where(AlertDelivery.status == "pending")
            .order_by(AlertDelivery.next_attempt_at)
        ).all()
    offsets = [(at.replace(tzinfo=NOW.tzinfo) - NOW).total_seconds() for at, _ in waiting]
    assert offsets == [0.5, 1.0, 1.5] and {attempts for _, attempts in waiting} == {0}
    frozen_clock.advance(timedelta(seconds=1))
    assert deliver_due(engine, settings).counts()["sent"] == 2
    frozen_clock.advance(timedelta(seconds=1))
    assert deliver_due(engine, settings).counts()["sent"] == 1
    assert sorted(m["To"] for m in sink.messages) == sorted(addresses)
    assert {status for status, _ in messages(engine).values()} == {"sent"}


def test_token_bucket_books_turns_at_the_rate():
    """A limiter of 4/s: a burst of 4, then one turn every 0.25 s; refills with time."""
    limiter = DomainLimiter(4.0)
    waits = [limiter.reserve("a@x.io", NOW) for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 0.0, 0.25, 0.5]
    assert limiter.reserve("b@Y.io", NOW) == 0.0
    later = NOW + timedelta(seconds=1)  # 4 tokens back, 2 owed: 2 left
    assert [limiter.reserve("a@X.IO", later) for _ in range(3)] == [0.0, 0.0, 0.25]
    assert DomainLimiter(0).reserve("a@x.io", NOW) == 0.0


def test_4xx_is_retried_with_back_off(engine, settings, sink, frozen_clock):
    """451 at RCPT: the message waits 30 s, then goes; the other one went at once."""
    settings = pointed(settings, sink)
    sink.rcpt_replies = {"slow@acme.io": ["451 4.7.1 try later"]}
    queue_messages(engine, settings, ["slow@acme.io", "fine@acme.io"])
    assert deliver_due(engine, settings).counts() == {
        "sent": 1,
        "retrying": 1,
        "failed": 0,
        "bounced": 0,
        "deferred": 0,
    }
    assert messages(engine)["slow@acme.io"] == ("queued", None)
    frozen_clock.advance(timedelta(seconds=29))
    assert deliver_due(engine, settings).total() == 0
    frozen_clock.advance(timedelta(seconds=1))
    assert deliver_due(engine, settings).sent == 1
    assert messages(engine)["slow@acme.io"] == ("sent", NOW + timedelta(seconds=30))
    assert sink.ehlos == 2  # one session per drain that had something to send


def test_4xx_until_the_last_attempt_fails_the_message(engine, settings, sink, frozen_clock):
    """Out of attempts on 4xx: the message is failed (not bounced) and nothing is suppressed."""
    settings = pointed(settings, sink, alert_delivery_max_attempts=1)
    sink.rcpt_replies = {"slow@acme.io": ["452 4.2.2 mailbox full"]}
    queue_messages(engine, settings, ["slow@acme.io"])
    assert deliver_due(engine, settings).failed == 1
    assert messages(engine)["slow@acme.io"] == ("failed", None)
    with session_scope(engine) as session:
        assert session.scalars(sa.select(Suppression)).all() == []


def test_5xx_bounces_suppresses_and_later_sends_are_refused(engine, settings, sink, frozen_clock):
    """550 at RCPT: failed, bounced, suppressed (hard_bounce, smtp); the session goes on."""
    settings = pointed(settings, sink)
    sink.rcpt_replies = {"gone@acme.io": ["550 5.1.1 no such user"]}
    queue_messages(engine, settings, ["gone@acme.io", "here@acme.io"])
    report = deliver_due(engine, settings)
    assert (report.sent, report.bounced, report.retrying) == (1, 1, 0)
    assert messages(engine)["gone@acme.io"][0] == "bounced"
    with session_scope(engine) as session:
        (row,) = session.scalars(sa.select(Suppression)).all()
        assert (row.email, row.reason, row.source) == ("gone@acme.io", "hard_bounce", "smtp")
        assert "550" in row.detail
        assert outbox.delivery_counts(session) == {"failed": 1, "sent": 1}
    assert sink.ehlos == 1 and [m["To"] for m in sink.messages] == ["here@acme.io"]
    with session_scope(engine) as session:
        contact = session.scalars(sa.select(Contact).where(Contact.email == "gone@acme.io")).one()
        assert may_send(session, contact, "transactional", None) == "suppressed:hard_bounce"


def test_a_421_closes_the_session_and_the_next_message_reconnects(
    engine, settings, sink, frozen_clock
):
    """The server answers 421 after DATA and hangs up: that message retries, the rest go."""
    settings = pointed(settings, sink)
    sink.data_replies = ["421 4.3.2 shutting down"]
    queue_messages(engine, settings, ["a@acme.io", "b@acme.io", "c@acme.io"])
    report = deliver_due(engine, settings)
    assert (report.sent, report.retrying) == (2, 1)
    assert sink.ehlos == 2 and len(sink.peers) == 2


def test_unreachable_server_retries_everything_without_reconnecting(engine, settings, frozen_clock):
    """Nobody listens: one failed connect, every email scheduled for a retry."""
    settings = settings.model_copy(update={"smtp_port": free_port()})
    queue_messages(engine, settings, ["a@acme.io", "b@acme.io"])
    assert deliver_due(engine, settings).as_dict() == {"sent": 0, "retrying": 2, "failed": 0}
    assert {status for status, _ in messages(engine).values()} == {"queued"}
