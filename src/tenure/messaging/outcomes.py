"""What became of a message at the SMTP server: sent, failed, or bounced (and suppressed)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.messaging.models import Message, Suppression


def sent_statement() -> sa.Update:
    """Return the UPDATE marking a message sent: bound parameters row_id and at."""
    return (
        sa.update(Message)
        .where(Message.id == sa.bindparam("row_id"))
        .values(status="sent", sent_at=sa.bindparam("at"))
    )


def suppress(session: Session, email: str, reason: str, source: str, detail: str | None) -> bool:
    """Add an address to the suppression list (once per reason); return whether it was new."""
    address = email.strip().lower()
    known = session.scalar(
        sa.select(Suppression.id).where(Suppression.email == address, Suppression.reason == reason)
    )
    if known is not None:
        return False
    session.add(
        Suppression(email=address, reason=reason, source=source, detail=detail, at=clock.now())
    )
    session.flush()
    return True


def record_failure(session: Session, message_id: int, error: str, *, bounce: bool) -> None:
    """Mark a message failed for good; a bounce marks it bounced and suppresses its address."""
    message = session.get(Message, message_id)
    if message is None:
        return
    message.status = "bounced" if bounce else "failed"
    message.status_reason = error[:2000]
    if bounce and message.to_email:
        suppress(session, message.to_email, "hard_bounce", "smtp", error[:2000])
    session.flush()
