"""Delivery through the outbox to a real SMTP server and real HTTP receivers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tenure.alerts import digest, outbox, service
from tenure.alerts.channels import verify_signature
from tenure.alerts.delivery import deliver_due
from tenure.alerts.models import AlertDelivery
from tenure.alerts.routing import routing_from_settings
from tenure.alerts.schemas import Trigger
from tenure.config import AlertWebhook, Settings
from tenure.db.session import session_scope
from tenure.tasks import build_huey, register_tasks

SECRET = "whsec-test-0123456789"


def configured(settings: Settings, smtp_sink, http_sink, **extra) -> Settings:
    """Return settings pointing SMTP, Slack and the `ops` webhook at the loopback receivers."""
    return settings.model_copy(
        update={
            "smtp_port": smtp_sink.port,
            "mail_from": "tenure@example.com",
            "slack_webhook_url": http_sink.url + "/slack",
            "alert_webhooks": {"ops": AlertWebhook(url=http_sink.url + "/ops", secret=SECRET)},
            **extra,
        }
    )


def open_alert(engine, settings: Settings, account: int, channels: list[str]) -> int:
    """Open one alert of a fresh rule routed over channels; return its id."""
    with session_scope(engine) as session:
        rule = service.save_rule(
            session,
            {"name": "red", "kind": "tier_change", "channels": channels, "severity": "high"},
        )
        alerts = service.open_alerts(
            session,
            rule,
            [Trigger(account, "went red", {"score": 31})],
            routing_from_settings(settings),
        )
        return alerts[0].id


def test_email_slack_and_signed_webhook(engine, book, settings, smtp_sink, http_sink, frozen_clock):
    """One alert reaches SMTP, Slack and the webhook once each; the signature checks out."""
    settings = configured(settings, smtp_sink, http_sink)
    alert_id = open_alert(engine, settings, book.account("a1"), ["email", "slack", "webhook:ops"])
    assert deliver_due(engine, settings).as_dict() == {"sent": 3, "retrying": 0, "failed": 0}
    assert deliver_due(engine, settings).sent == 0  # nothing is sent twice
    [email] = smtp_sink.messages
    assert email["To"] == "csm@example.com" and email["From"] == "tenure@example.com"
    assert email["Subject"].startswith("[Tenure] High alert: Account a1: went red")
    assert "score: 31" in email.get_payload()
    slack, hook = sorted(http_sink.requests, key=lambda r: r["path"])
    assert slack["path"] == "/hook/ops" and hook["path"] == "/hook/slack"
    slack, hook = hook, slack
    assert slack["json"]["text"].startswith("[Tenure] High alert")
    assert hook["json"]["alert"]["id"] == alert_id and hook["json"]["type"] == "alert.opened"
    # Check the signature independently of tenure's verifier: HMAC-SHA256 over "t.body".
    parts = dict(p.split("=", 1) for p in hook["headers"]["Tenure-Signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), parts["t"].encode() + b"." + hook["body"], hashlib.sha256
    ).hexdigest()
    assert parts["v1"] == expected and int(parts["t"]) == int(frozen_clock.now().timestamp())
    header = hook["headers"]["Tenure-Signature"]
    assert verify_signature(SECRET, header, hook["body"])
    assert not verify_signature("other-secret", header, hook["body"])
    assert not verify_signature(SECRET, header, hook["body"] + b" ")
    late = frozen_clock.now() + timedelta(minutes=6)
    assert not verify_signature(SECRET, header, hook["body"], now=late)
    assert hook["headers"]["Idempotency-Key"] == f"alert-{alert_id}-opened-webhook-ops"


def test_retries_back_off_exponentially(engine, book, settings, smtp_sink, http_sink, frozen_clock):
    """500, 503, then 200: attempts at t=0, +30 s, +90 s (30 s doubling), one acceptance."""
    settings = configured(settings, smtp_sink, http_sink)
    open_alert(engine, settings, book.account("a1"), ["webhook:ops"])
    http_sink.statuses = [500, 503]
    assert deliver_due(engine, settings).retrying == 1
    frozen_clock.advance(timedelta(seconds=29))
    assert deliver_due(engine, settings).as_dict() == {"sent": 0, "retrying": 0, "failed": 0}
    frozen_clock.advance(timedelta(seconds=1))
    assert deliver_due(engine, settings).retrying == 1
    frozen_clock.advance(timedelta(seconds=59))
    assert deliver_due(engine, settings).sent == 0
    frozen_clock.advance(timedelta(seconds=1))
    assert deliver_due(engine, settings).sent == 1
    assert [r["status"] for r in http_sink.requests] == [500, 503, 200]
    assert len({r["headers"]["Idempotency-Key"] for r in http_sink.requests}) == 1
    with session_scope(engine) as session:
        row = session.scalars(sa.select(AlertDelivery)).one()
        assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


def test_permanent_refusal_and_max_attempts_give_up(
    engine, book, settings, smtp_sink, http_sink, frozen_clock
):
    """A 400 fails at once; repeated 500s fail after alert_delivery_max_attempts."""
    settings = configured(settings, smtp_sink, http_sink, alert_delivery_max_attempts=2)
    open_alert(engine, settings, book.account("a1"), ["webhook:ops", "slack"])
    http_sink.statuses = [400, 500, 500, 500]
    assert deliver_due(engine, settings).as_dict() == {"sent": 0, "retrying": 1, "failed": 1}
    frozen_clock.advance(timedelta(hours=1))
    assert deliver_due(engine, settings).as_dict() == {"sent": 0, "retrying": 0, "failed": 1}
    with session_scope(engine) as session:
        assert outbox.delivery_counts(session) == {"failed": 2}
    assert len(http_sink.requests) == 3


def test_dead_workers_claim_is_taken_over_after_the_lease(
    engine, book, settings, smtp_sink, http_sink, frozen_clock
):
    """A delivery claimed by a worker that died is sent once, only after the lease expires."""
    settings = configured(settings, smtp_sink, http_sink, alert_delivery_lease_seconds=120)
    open_alert(engine, settings, book.account("a1"), ["email"])
    with session_scope(engine) as session:
        assert outbox.claim_next(session, 120) is not None  # ... and the worker dies here
    assert deliver_due(engine, settings).sent == 0
    frozen_clock.advance(timedelta(seconds=120))
    assert deliver_due(engine, settings).sent == 1
    assert len(smtp_sink.messages) == 1


def test_daily_digest_once_per_owner(engine, book, settings, smtp_sink, http_sink, frozen_clock):
    """Each owner gets one digest a day listing their active alerts, however often it runs."""
    settings = configured(settings, smtp_sink, http_sink)
    a1, a2 = (
        book.account("a1", owner="ann@example.com"),
        book.account("a2", owner="bob@example.com"),
    )
    a3 = book.account("a3", owner="ann@example.com")
    routing = routing_from_settings(settings)
    with session_scope(engine) as session:
        rule = service.save_rule(session, {"name": "red", "kind": "tier_change"})
        service.open_alerts(session, rule, [Trigger(a, "went red") for a in (a1, a2, a3)], routing)
    with session_scope(engine) as session:
        assert digest.queue_digests(session, frozen_clock.now().date(), routing) == 2
        assert digest.queue_digests(session, frozen_clock.now().date(), routing) == 0
    deliver_due(engine, settings)
    digests = {m["To"]: m for m in smtp_sink.messages if "digest" in m["Subject"]}
    assert sorted(digests) == ["ann@example.com", "bob@example.com"]
    assert "2 active" in digests["ann@example.com"]["Subject"]
    body = digests["ann@example.com"].get_payload(decode=True).decode()
    assert body.count("went red") == 2 and "Account a1" in body and "Account a3" in body


def _drain_through_queue(settings: Settings, engine) -> None:
    huey = build_huey(settings)
    huey.flush()
    tasks = register_tasks(huey, settings, engine)
    tasks.deliver_alerts()
    assert huey.pending_count() == 1
    huey.execute(huey.dequeue())
    assert huey.pending_count() == 0


def test_sqlite_huey_task_sends_the_outbox(
    engine, book, settings, smtp_sink, http_sink, frozen_clock
):
    """The deliver task, enqueued in SqliteHuey (data dir) and executed, sends the email."""
    settings = configured(settings, smtp_sink, http_sink)
    open_alert(engine, settings, book.account("a1"), ["email"])
    _drain_through_queue(settings, engine)
    assert (settings.data_dir / "tasks.db").exists()
    assert len(smtp_sink.messages) == 1


@pytest.mark.redis
def test_redis_huey_task_sends_the_outbox(
    engine, book, settings, smtp_sink, http_sink, frozen_clock
):
    """The same through RedisHuey when redis_url is set."""
    settings = configured(settings, smtp_sink, http_sink, redis_url="redis://127.0.0.1:6379/11")
    huey = build_huey(settings)
    assert type(huey).__name__ == "RedisHuey"
    open_alert(engine, settings, book.account("a1"), ["email", "slack"])
    _drain_through_queue(settings, engine)
    assert len(smtp_sink.messages) == 1 and len(http_sink.requests) == 1
    assert json.loads(http_sink.requests[0]["body"])["text"].startswith("[Tenure]")


def test_claims_are_exclusive_and_ordered(any_engine, any_book, frozen_clock):
    """Two workers never hold the same delivery: each claim takes the next free row."""
    settings = Settings(alert_webhooks={"ops": AlertWebhook(url="http://127.0.0.1:9", secret="s")})
    open_alert(any_engine, settings, any_book.account("a1"), ["email", "webhook:ops"])
    with session_scope(any_engine) as first, session_scope(any_engine) as second:
        a = outbox.claim_next(first, 300)
        first.commit()
        b = outbox.claim_next(second, 300)
        second.commit()
        assert a is not None and b is not None and a.id < b.id
        assert (a.channel, b.channel) == ("email", "webhook")
        assert outbox.claim_next(second, 300) is None
    frozen_clock.advance(timedelta(seconds=301))
    with session_scope(any_engine) as session:
        again = outbox.claim_next(session, 300)
        assert again is not None and (again.id, again.attempts) == (a.id, 2)


def test_minute_tick_and_digest_tasks(engine, book, settings, smtp_sink, http_sink, frozen_clock):
    """The periodic tasks escalate an overdue alert and send it; the digest task sends digests."""
    settings = configured(settings, smtp_sink, http_sink, alert_escalation_to="boss@example.com")
    account = book.account("a1")
    with session_scope(engine) as session:
        rule = service.save_rule(
            session, {"name": "red", "kind": "tier_change", "escalate_after_hours": 2}
        )
        service.open_alerts(
            session,
            rule,
            [Trigger(account, "went red")],
            routing_from_settings(settings),
        )
    tasks = register_tasks(build_huey(settings), settings, engine)
    frozen_clock.advance(timedelta(hours=2))
    assert tasks.alerts_tick.call_local() == {
        "woke": 0,
        "escalated": 1,
        "sent": 2,
        "retrying": 0,
        "failed": 0,
    }
    assert tasks.alerts_digest.call_local()["digests"] == 1
    recipients = [(m["To"], m["Subject"].split(":")[0]) for m in smtp_sink.messages]
    assert recipients == [
        ("csm@example.com", "[Tenure] Medium alert"),
        ("boss@example.com", "[Tenure] Escalated, unacknowledged Medium alert"),
        ("csm@example.com", "[Tenure] Daily alert digest 2025-06-30"),
    ]
