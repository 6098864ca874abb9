"""Whether a contact may receive a message: consent per channel and purpose, suppression."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Contact
from tenure.messaging.models import ContactConsent, Suppression


def latest_consent(session: Session, contact_id: int, channel: str, purpose: str) -> bool | None:
    """Return the newest recorded consent decision, None when none was recorded."""
    query = (
        sa.select(ContactConsent.granted)
        .where(
            ContactConsent.contact_id == contact_id,
            ContactConsent.channel == channel,
            ContactConsent.purpose == purpose,
        )
        .order_by(ContactConsent.at.desc(), ContactConsent.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def imported_consent(contact: Contact, channel: str) -> bool:
    """Return the consent the contacts import gave for a channel."""
    return bool((contact.consent or {}).get(channel))


def may_send(session: Session, contact: Contact, purpose: str, topic: str | None) -> str | None:
    """Return why an email may not go to a contact, or None when it may."""
    if not contact.email:
        return "no_email"
    suppressed = session.scalar(
        sa.select(Suppression.reason).where(Suppression.email == contact.email.lower()).limit(1)
    )
    if suppressed:
        return f"suppressed:{suppressed}"
    if purpose == "transactional":
        return None
    decision = latest_consent(session, contact.id, "email", "marketing")
    if decision is None:
        decision = imported_consent(contact, "email")
    if not decision:
        return "no_consent"
    if topic and latest_consent(session, contact.id, "email", topic) is False:
        return f"unsubscribed:{topic}"
    return None
