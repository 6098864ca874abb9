"""The suppression list: addresses no message may go to (hard bounces, complaints, blocks).

Unsubscribes are consent decisions (`tenure.messaging.consent`), not suppressions: an address
that unsubscribed from marketing still gets transactional mail; a suppressed one gets nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import InputError
from tenure.messaging.models import Suppression

REASONS = ("hard_bounce", "complaint", "manual")


def suppression_reason(session: Session, email: str) -> str | None:
    """Return why an address is suppressed (the first reason recorded), or None."""
    return session.scalar(
        sa.select(Suppression.reason)
        .where(Suppression.email == email.strip().lower())
        .order_by(Suppression.at, Suppression.id)
        .limit(1)
    )


def suppress(
    session: Session, email: str, reason: str, source: str, detail: str | None = None
) -> tuple[Suppression, bool]:
    """Add an address to the suppression list once per reason; return the row and if it is new."""
    if reason not in REASONS:
        raise InputError(f"suppression: reason must be one of {', '.join(REASONS)}")
    address = email.strip().lower()
    if "@" not in address:
        raise InputError(f"suppression: {email!r} is not an email address")
    existing = session.scalar(
        sa.select(Suppression).where(Suppression.email == address, Suppression.reason == reason)
    )
    if existing is not None:
        return existing, False
    row = Suppression(
        email=address, reason=reason, source=source[:64], detail=detail, at=clock.now()
    )
    session.add(row)
    session.flush()
    return row, True
