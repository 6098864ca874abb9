"""Drain the one outbox (alerts and messages): claim a batch, send each row, mark each at once.

A drain claims up to delivery_batch_size due rows in one transaction, keeps one SMTP session
open for all its emails, holds back emails over a recipient domain's rate (deferred, not
failed), and records each acceptance on an already open connection right after the receiver's
"accepted" (the one crash window that can repeat a message: see tenure.alerts.outbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from tenure import clock
from tenure.alerts import channels, outbox
from tenure.alerts.models import AlertDelivery
from tenure.alerts.ratelimit import DomainLimiter
from tenure.alerts.smtp import DeliveryError, SmtpSender, SmtpUnavailable
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.logging import get_logger
from tenure.privacy.secrets import with_stored_secrets

log = get_logger(__name__)


@dataclass
class DeliveryReport:
    """What one drain of the outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    bounced: int = 0
    deferred: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the sent, retrying and failed counts (bounces count as failed here)."""
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed + self.bounced}

    def counts(self) -> dict[str, int]:
        """Return every count, bounces and rate-limit deferrals apart."""
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "bounced": self.bounced,
            "deferred": self.deferred,
        }

    def total(self) -> int:
        """Return how many claimed rows this drain handled."""
        return sum(self.counts().values())

    def add(self, status: str, count: int = 1) -> None:
        """Count deliveries that ended in status."""
        setattr(self, status, getattr(self, status) + count)


class Drain:
    """One pass over the outbox: one SMTP session, one mark connection, one rate limiter."""

    def __init__(self, engine: Engine, settings: Settings, connection: sa.Connection) -> None:
        """Prepare a drain that records acceptances on connection."""
        self.engine, self.settings, self.connection = engine, settings, connection
        self.smtp = SmtpSender(settings)
        self.limiter = DomainLimiter(settings.smtp_domain_rate)
        self.report = DeliveryReport()
        self.smtp_down: SmtpUnavailable | None = None

    def claim(self, size: int) -> list[AlertDelivery]:
        """Claim up to size due rows in one committed transaction."""
        with session_scope(self.engine) as session:
            return outbox.claim_batch(session, self.settings.alert_delivery_lease_seconds, size)

    def hold_back(self, batch: list[AlertDelivery]) -> list[AlertDelivery]:
        """Defer the emails over their domain's rate; return the rows to send now."""
        now, waits, ready = clock.now(), {}, []
        for delivery in batch:
            wait = self.limiter.reserve(delivery.target, now) if delivery.channel == "email" else 0
            if wait > 0:
                waits[delivery.id] = wait
            else:
                ready.append(delivery)
        outbox.defer(self.connection, waits)
        self.report.add("deferred", len(waits))
        return ready

    def send_batch(self, batch: list[AlertDelivery]) -> None:
        """Send each claimed row, renewing the claim on the rest when half the lease is gone."""
        lease = self.settings.alert_delivery_lease_seconds
        claimed_at = batch[0].claimed_at if batch else None
        pending = self.hold_back(batch)
        while pending:
            now = clock.now()
            if claimed_at is not None and now - claimed_at > timedelta(seconds=lease / 2):
                pending = self.renew(pending, claimed_at, now)
                claimed_at = now
                continue
            self.report.add(self.deliver(pending.pop(0)))

    def renew(
        self, pending: list[AlertDelivery], claimed_at: datetime, now: datetime
    ) -> list[AlertDelivery]:
        """Extend the claim on unsent rows; drop those another worker took over."""
        ids = outbox.renew_claims(self.connection, [d.id for d in pending], claimed_at, now)
        kept = set(ids)
        return [delivery for delivery in pending if delivery.id in kept]

    def deliver(self, delivery: AlertDelivery) -> str:
        """Send one claimed row and record the outcome; return the report status."""
        if self.smtp_down is not None and delivery.channel == "email":
            return self.record_failure(delivery, self.smtp_down)
        try:
            channels.send(
                self.settings,
                delivery,
                on_accepted=lambda: outbox.record_sent(
                    self.connection, delivery.id, delivery.message_id
                ),
                smtp=self.smtp,
            )
        except DeliveryError as exc:
            self.connection.rollback()
            if isinstance(exc, SmtpUnavailable):
                self.smtp_down = exc  # could not connect: the other emails wait for the retry
            return self.record_failure(delivery, exc)
        return "sent"

    def record_failure(self, delivery: AlertDelivery, exc: DeliveryError) -> str:
        """Schedule a retry or give up (a bounce suppresses the address); return the status."""
        settings = self.settings
        with session_scope(self.engine) as session:
            status = outbox.mark_failed(
                session,
                delivery,
                str(exc),
                permanent=exc.permanent,
                bounce=exc.bounce and delivery.message_id is not None,
                max_attempts=settings.alert_delivery_max_attempts,
                base_seconds=settings.alert_delivery_backoff_seconds,
            )
        log.warning("delivery failed", delivery=delivery.id, status=status, error=str(exc))
        if status != "failed":
            return "retrying"
        return "bounced" if exc.bounce and delivery.message_id is not None else "failed"


def deliver_due(engine: Engine, settings: Settings, *, limit: int | None = None) -> DeliveryReport:
    """Send every delivery that is due now (at most limit rows); return the counts.

    Webhook and SMTP secrets stored (encrypted) in the app DB are merged into settings first.
    """
    settings = with_stored_secrets(engine, settings)
    with engine.connect() as connection:
        drain = Drain(engine, settings, connection)
        with drain.smtp:
            while limit is None or drain.report.total() < limit:
                room = settings.delivery_batch_size
                if limit is not None:
                    room = min(room, limit - drain.report.total())
                batch = drain.claim(room)
                if not batch:
                    break
                drain.send_batch(batch)
    return drain.report


def deliver_one(engine: Engine, settings: Settings) -> str | None:
    """Claim, send and mark one due delivery; return its status, None if none was due."""
    report = deliver_due(engine, settings, limit=1)
    for status, count in report.counts().items():
        if count:
            return status
    return None
