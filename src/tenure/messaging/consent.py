"""Consent per contact, channel and purpose (or topic): record decisions, read them, gate sends.

Every decision is a `ContactConsent` row (history); the newest row for a (contact, channel,
purpose) holds. Purposes are `marketing`, `transactional` or a topic (a template's `topic`, e.g.
`product-news`). The contacts import's `consent_email` stays on `contact.consent` and is the
fallback for email marketing while no decision was recorded; the first decision recorded for a
contact's email marketing copies it into the history as an `import` row first, so the history
shows where consent came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Contact
from tenure.config import Settings
from tenure.errors import InputError, NotFound
from tenure.messaging.models import ContactConsent, MessageTemplate
from tenure.messaging.suppression import suppression_reason

CHANNELS = ("email",)
SOURCES = ("import", "preference_page", "api", "unsubscribe", "cli", "webhook")
MARKETING = "marketing"
# The default of Settings.message_consent_policy, for callers that pass no settings.
DEFAULT_POLICY: Mapping[str, str] = {"marketing": "marketing", "transactional": ""}


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


def required_consent(purpose: str, settings: Settings | None = None) -> str:
    """Return the consent purpose a message purpose needs ('' when it needs none)."""
    policy = settings.message_consent_policy if settings is not None else DEFAULT_POLICY
    return policy.get(purpose, purpose)


def may_send(
    session: Session,
    contact: Contact,
    purpose: str,
    topic: str | None,
    settings: Settings | None = None,
) -> str | None:
    """Return why an email may not go to a contact, or None when it may."""
    if not contact.email:
        return "no_email"
    suppressed = suppression_reason(session, contact.email)
    if suppressed:
        return f"suppressed:{suppressed}"
    needed = required_consent(purpose, settings)
    if not needed:
        return None
    decision = latest_consent(session, contact.id, "email", needed)
    if decision is None and needed == MARKETING:
        decision = imported_consent(contact, "email")
    if not decision:
        return "no_consent"
    if topic and latest_consent(session, contact.id, "email", topic) is False:
        return f"unsubscribed:{topic}"
    return None


def _check(channel: str, purpose: str, source: str) -> None:
    if channel not in CHANNELS:
        raise InputError(f"consent: channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    if not purpose or len(purpose) > 64 or not purpose.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"consent: {purpose!r} is not a purpose or topic (letters, digits, - _)")
    if source not in SOURCES:
        raise InputError(f"consent: source must be one of {', '.join(SOURCES)}, not {source!r}")


def _carry_import(session: Session, contact: Contact, channel: str, now: datetime) -> None:
    """Copy the import's consent into the history before the first recorded marketing decision."""
    if channel not in (contact.consent or {}):
        return
    if latest_consent(session, contact.id, channel, MARKETING) is not None:
        return
    at = min(contact.created_at or now, now)
    session.add(
        ContactConsent(
            contact_id=contact.id, channel=channel, purpose=MARKETING,
            granted=imported_consent(contact, channel), source="import", at=at,
        )
    )  # fmt: skip


def record_consent(
    session: Session,
    contact: Contact,
    *,
    purpose: str,
    granted: bool,
    source: str,
    channel: str = "email",
    text_version: str | None = None,
    actor: str | None = None,
) -> ContactConsent:
    """Record one consent decision (now); it holds until a newer one for the same purpose."""
    _check(channel, purpose, source)
    now = clock.now()
    if purpose == MARKETING:
        _carry_import(session, contact, channel, now)
    row = ContactConsent(
        contact_id=contact.id, channel=channel, purpose=purpose, granted=granted,
        source=source, text_version=text_version, actor=actor, at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def consent_state(session: Session, contact: Contact, channel: str = "email") -> dict[str, dict]:
    """Return the decision in force per purpose/topic: granted, source, at, text_version."""
    rows = session.scalars(
        sa.select(ContactConsent)
        .where(ContactConsent.contact_id == contact.id, ContactConsent.channel == channel)
        .order_by(ContactConsent.at, ContactConsent.id)
    ).all()
    state: dict[str, dict] = {}
    for row in rows:  # ascending: the newest decision per purpose overwrites older ones
        state[row.purpose] = {
            "granted": row.granted, "source": row.source, "at": row.at.isoformat(),
            "text_version": row.text_version, "actor": row.actor,
        }  # fmt: skip
    if MARKETING not in state and channel in (contact.consent or {}):
        state[MARKETING] = {
            "granted": imported_consent(contact, channel), "source": "import", "at": None,
            "text_version": None, "actor": None,
        }  # fmt: skip
    return state


def marketing_topics(session: Session) -> list[str]:
    """Return the topics marketing templates use (what the preference page offers), sorted."""
    query = (
        sa.select(MessageTemplate.topic)
        .where(MessageTemplate.topic.is_not(None), MessageTemplate.purpose == MARKETING)
        .distinct()
    )
    return sorted(t for t in session.scalars(query) if t)


def get_contact(session: Session, contact_id: int) -> Contact:
    """Return a contact by id; raise NotFound."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}")
    return contact
