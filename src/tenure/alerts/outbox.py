"""The delivery outbox: rows written with the decision to notify, claimed and marked by workers.

A delivery is claimed (status sending, committed) before it is sent and marked sent right after
the channel accepted it, so a crash before the send leaves a claim that another worker takes over
after the lease; only a crash between the channel's acceptance and the mark can repeat a send,
and the repeat carries the same Message-ID / idempotency key.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.alerts.models import Alert, AlertDelivery
from tenure.alerts.routing import Routing
from tenure.alerts.schemas import alert_dict
from tenure.logging import get_logger
from tenure.messaging import outcomes

log = get_logger(__name__)

HEADLINES = {
    "opened": "{severity} alert",
    "escalated": "Escalated, unacknowledged {severity} alert",
    "reminder": "Snooze over, {severity} alert",
}


SUMMARY_KEYS = ("id", "account_id", "rule", "kind", "severity", "owner", "status", "message")
SUMMARY_KEYS += ("facts", "opened_at")


def alert_summary(alert: Alert, account: Account | None) -> dict[str, Any]:
    """Return the JSON description of an alert sent to Slack and webhooks."""
    full = alert_dict(alert)
    summary = {key: full[key] for key in SUMMARY_KEYS}
    return summary | {
        "account_external_id": account.external_id if account else None,
        "account_name": account.name if account else None,
    }


def render_alert(
    alert: Alert, account: Account | None, purpose: str, routing: Routing
) -> tuple[str, str]:
    """Return the subject and plain-text body of an alert message."""
    headline = HEADLINES.get(purpose, "{severity} alert").format(severity=alert.severity.title())
    subject = f"[Tenure] {headline}: {alert.message}"[:255]
    facts = "\n".join(f"  {key}: {value}" for key, value in sorted(alert.facts.items()))
    lines = [
        f"{headline} for {account.name if account else alert.account_id}",
        "",
        alert.message,
        "",
        f"Rule: {alert.rule} ({alert.kind})",
        f"Owner: {alert.owner}",
        f"Opened: {alert.opened_at:%Y-%m-%d %H:%M} UTC",
        "Facts:",
        facts or "  (none)",
        "",
        f"Open it: {routing.public_url}/alerts/{alert.id}",
    ]
    return subject, "\n".join(lines) + "\n"


def _channel_and_target(channel: str, to: str) -> tuple[str, str]:
    if channel == "email":
        return "email", to
    if channel == "slack":
        return "slack", "slack"
    return "webhook", channel.removeprefix("webhook:")


def queue_alert(
    session: Session,
    alert: Alert,
    channels: list[str],
    to: str,
    purpose: str,
    account: Account | None,
    routing: Routing,
    *,
    key_suffix: str = "",
) -> list[AlertDelivery]:
    """Add one outbox row per usable channel for an alert (in the caller's transaction)."""
    subject, body = render_alert(alert, account, purpose, routing)
    summary = alert_summary(alert, account)
    rows = []
    for channel in channels:
        if not routing.usable(channel):
            log.warning("alert channel not configured, skipped", channel=channel, alert=alert.id)
            continue
        kind, target = _channel_and_target(channel, to)
        key = f"alert-{alert.id}-{purpose}{'-' + key_suffix if key_suffix else ''}-{kind}-{target}"
        payload = {"type": f"alert.{purpose}", "alert": summary}
        rows.append(
            add_delivery(
                session, kind, target, key[:128], subject, body, payload, alert.id, purpose
            )
        )
    return rows


def add_delivery(
    session: Session,
    channel: str,
    target: str,
    key: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    alert_id: int | None,
    purpose: str,
    **extra: Any,
) -> AlertDelivery:
    """Insert one pending outbox row (extra: html_body, headers, message_id).

    Bound for a third party (webhook, Slack), people who opted out of sale or sharing are
    withheld from it (tenure.privacy.sharing).
    """
    from tenure.privacy.sharing import withhold

    subject, body, payload = withhold(session, channel, subject, body, payload)
    now = clock.now()
    row = AlertDelivery(
        alert_id=alert_id,
        purpose=purpose,
        channel=channel,
        target=target,
        idempotency_key=key,
        subject=subject,
        body=body,
        payload={**payload, "id": key},
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        **extra,
    )
    session.add(row)
    session.flush()
    return row


def _claimable(now: datetime, lease_seconds: int) -> sa.ColumnElement[bool]:
    stale = now - timedelta(seconds=lease_seconds)
    return sa.or_(
        sa.and_(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now),
        sa.and_(AlertDelivery.status == "sending", AlertDelivery.claimed_at <= stale),
    )


def claim_next(session: Session, lease_seconds: int) -> AlertDelivery | None:
    """Claim the oldest due delivery (or one whose worker died); the caller commits at once."""
    claimed = claim_batch(session, lease_seconds, 1)
    return claimed[0] if claimed else None


def claim_batch(session: Session, lease_seconds: int, size: int) -> list[AlertDelivery]:
    """Claim up to size due deliveries, oldest first, in one transaction the caller commits.

    The UPDATE re-checks that each row is still claimable, so two workers that picked the same
    ids split them: each row is claimed by exactly one of them.
    """
    now = clock.now()
    query = sa.select(AlertDelivery.id).where(_claimable(now, lease_seconds))
    ids = list(session.scalars(query.order_by(AlertDelivery.id).limit(size)))
    if not ids:
        return []
    claim = (
        sa.update(AlertDelivery)
        .where(AlertDelivery.id.in_(ids), _claimable(now, lease_seconds))
        .values(status="sending", claimed_at=now, attempts=AlertDelivery.attempts + 1)
        .returning(AlertDelivery.id)
        .execution_options(synchronize_session=False)
    )
    won = set(session.scalars(claim))
    if not won:
        return claim_batch(session, lease_seconds, size)  # another worker took these first
    rows = session.scalars(
        sa.select(AlertDelivery)
        .where(AlertDelivery.id.in_(won))
        .order_by(AlertDelivery.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def renew_claims(
    connection: sa.Connection, ids: list[int], claimed_at: datetime, now: datetime
) -> list[int]:
    """Extend this worker's claim on rows it has not sent yet; return the ids still its own."""
    if not ids:
        return []
    renew = (
        sa.update(AlertDelivery)
        .where(
            AlertDelivery.id.in_(ids),
            AlertDelivery.status == "sending",
            AlertDelivery.claimed_at == claimed_at,
        )
        .values(claimed_at=now)
        .returning(AlertDelivery.id)
    )
    kept = set(connection.execute(renew).scalars())
    connection.commit()
    return [delivery_id for delivery_id in ids if delivery_id in kept]


def defer(connection: sa.Connection, waits: dict[int, float]) -> None:
    """Hand claimed rows back, due after their wait (a rate limit: no attempt is counted)."""
    if not waits:
        return
    now = clock.now()
    statement = (
        sa.update(AlertDelivery)
        .where(AlertDelivery.id == sa.bindparam("row_id"))
        .values(
            status="pending",
            claimed_at=None,
            attempts=AlertDelivery.attempts - 1,
            next_attempt_at=sa.bindparam("due"),
        )
    )
    rows = [
        {"row_id": row_id, "due": now + timedelta(seconds=wait)} for row_id, wait in waits.items()
    ]
    connection.execute(statement, rows)
    connection.commit()


@functools.cache
def _sent_marks() -> tuple[sa.Update, sa.Update]:
    """Return the two UPDATEs of record_sent, built once with bound parameters (hot path)."""
    delivery = (
        sa.update(AlertDelivery)
        .where(AlertDelivery.id == sa.bindparam("row_id"))
        .values(status="sent", sent_at=sa.bindparam("at"), last_error=None)
    )
    return delivery, outcomes.sent_statement()


def record_sent(connection: sa.Connection, delivery_id: int, message_id: int | None = None) -> None:
    """Record at once, on an already open connection, that a delivery was accepted.

    A message's own status (sent, sent_at) changes in the same transaction.
    """
    delivery, message = _sent_marks()
    now = clock.now()
    connection.execute(delivery, {"row_id": delivery_id, "at": now})
    if message_id is not None:
        connection.execute(message, {"row_id": message_id, "at": now})
    connection.commit()


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float = 6 * 3600) -> float:
    """Return the exponential back-off before the next attempt: base × 2^(attempts − 1)."""
    return min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1))


def mark_failed(
    session: Session,
    delivery: AlertDelivery,
    error: str,
    *,
    permanent: bool,
    bounce: bool = False,
    max_attempts: int,
    base_seconds: float,
) -> str:
    """Record a failed attempt: schedule a retry with back-off, or give up; return the status.

    Giving up on a message marks it failed; a bounce marks it bounced and suppresses its address.
    """
    give_up = permanent or delivery.attempts >= max_attempts
    status = "failed" if give_up else "pending"
    if give_up and delivery.message_id is not None:
        outcomes.record_failure(session, delivery.message_id, error, bounce=bounce)
    wait = retry_delay(delivery.attempts, base_seconds)
    session.execute(
        sa.update(AlertDelivery)
        .where(AlertDelivery.id == delivery.id)
        .values(
            status=status,
            last_error=error[:2000],
            next_attempt_at=clock.now() + timedelta(seconds=0 if give_up else wait),
        )
    )
    return status


def next_due_at(session: Session, lease_seconds: int) -> datetime | None:
    """Return when the next delivery becomes claimable (a retry, or a dead worker's claim)."""
    pending = session.scalar(
        sa.select(sa.func.min(AlertDelivery.next_attempt_at)).where(
            AlertDelivery.status == "pending"
        )
    )
    claimed = session.scalar(
        sa.select(sa.func.min(AlertDelivery.claimed_at)).where(AlertDelivery.status == "sending")
    )
    if claimed is not None:
        claimed += timedelta(seconds=lease_seconds)
    due = [when for when in (pending, claimed) if when is not None]
    return min(due) if due else None


def delivery_counts(session: Session) -> dict[str, int]:
    """Return the number of outbox rows per status."""
    query = sa.select(AlertDelivery.status, sa.func.count()).group_by(AlertDelivery.status)
    return {status: count for status, count in session.execute(query)}
