"""Drain the outbox: claim a due delivery, send it, mark it — one short transaction each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tenure.alerts import channels, outbox
from tenure.alerts.channels import DeliveryError
from tenure.alerts.models import AlertDelivery
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

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a dict."""
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def deliver_one(engine: Engine, settings: Settings) -> str | None:
    """Claim, send and mark one due delivery; return its new status, None if none was due."""
    with session_scope(engine) as session:
        delivery = outbox.claim_next(session, settings.alert_delivery_lease_seconds)
    if delivery is None:
        return None
    # The connection that records "sent" is open before the send, so that the only window in
    # which a crash repeats a message (accepted, not yet recorded) is one UPDATE and COMMIT.
    with engine.connect() as connection:
        try:
            channels.send(
                settings, delivery, on_accepted=lambda: outbox.record_sent(connection, delivery.id)
            )
        except DeliveryError as exc:
            connection.rollback()
            return _record_failure(engine, settings, delivery, exc)
    return "sent"


def _record_failure(
    engine: Engine, settings: Settings, delivery: AlertDelivery, exc: DeliveryError
) -> str:
    with session_scope(engine) as session:
        status = outbox.mark_failed(
            session,
            delivery,
            str(exc),
            permanent=exc.permanent,
            max_attempts=settings.alert_delivery_max_attempts,
            base_seconds=settings.alert_delivery_backoff_seconds,
        )
    log.warning("alert delivery failed", delivery=delivery.id, status=status, error=str(exc))
    return "failed" if status == "failed" else "retrying"


def deliver_due(engine: Engine, settings: Settings, *, limit: int | None = None) -> DeliveryReport:
    """Send every delivery that is due now (at most limit); return the counts.

    Webhook and SMTP secrets stored (encrypted) in the app DB are merged into settings first.
    """
    settings = with_stored_secrets(engine, settings)
    report = DeliveryReport()
    while limit is None or report.sent + report.retrying + report.failed < limit:
        status = deliver_one(engine, settings)
        if status is None:
            break
        setattr(report, status, getattr(report, status) + 1)
    return report
