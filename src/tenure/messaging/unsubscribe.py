"""One-click unsubscribe (RFC 8058), the footer's links and the preference page's changes.

A message's unsubscribe token names its contact and what it unsubscribes from: the message's
topic when it has one, else all marketing. The same token opens the preference page, where the
contact chooses topics, resubscribes or turns all marketing off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from tenure.accounts.models import Contact
from tenure.config import Settings
from tenure.messaging import consent
from tenure.messaging.links import (
    LinkInvalid,
    UnsubscribeToken,
    read_unsubscribe_token,
    unsubscribe_token,
)
from tenure.messaging.models import Message
from tenure.messaging.tracking import record_unsubscribed


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def unsubscribe_purpose(message: Any) -> str:
    """Return what a message's unsubscribe link unsubscribes from: its topic, else marketing."""
    return getattr(message, "topic", None) or consent.MARKETING


def _message_id(message: Any) -> int | None:
    """Return the id of a sent Message (None for a template, or a message not stored yet)."""
    return message.id if isinstance(message, Message) else None


def unsubscribe_url(
    settings: Settings, contact_id: int, purpose: str, message_id: int | None = None
) -> str:
    """Return a signed, expiring one-click unsubscribe URL."""
    return f"{_base(settings)}/u/{unsubscribe_token(settings, contact_id, purpose, message_id)}"


def preferences_url(
    settings: Settings,
    contact_id: int,
    purpose: str = consent.MARKETING,
    message_id: int | None = None,
) -> str:
    """Return a signed, expiring preference-page URL."""
    token = unsubscribe_token(settings, contact_id, purpose, message_id)
    return f"{_base(settings)}/preferences/{token}"


def unsubscribe_headers(message: Message, settings: Settings) -> dict[str, str]:
    """Return the RFC 8058 List-Unsubscribe and List-Unsubscribe-Post headers of a message."""
    purpose = unsubscribe_purpose(message)
    token = unsubscribe_token(settings, message.contact_id, purpose, _message_id(message))
    links = [f"<{_base(settings)}/u/{token}>"]
    if settings.mail_unsubscribe_mailto:
        subject = quote(f"unsubscribe {token}")
        links.append(f"<mailto:{settings.mail_unsubscribe_mailto}?subject={subject}>")
    return {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def footer_context(message: Any, contact: Contact, settings: Settings) -> dict[str, str]:
    """Return the footer's variables: unsubscribe_url, preferences_url, postal_address.

    message may be the Message or the stored template (anything with a `topic`).
    """
    purpose, message_id = unsubscribe_purpose(message), _message_id(message)
    return {
        "unsubscribe_url": unsubscribe_url(settings, contact.id, purpose, message_id),
        "preferences_url": preferences_url(settings, contact.id, purpose, message_id),
        "postal_address": settings.mail_postal_address,
    }


@dataclass(frozen=True)
class Preferences:
    """What the preference page shows: marketing on or off, and each topic's choice."""

    contact: Contact
    marketing: bool
    topics: dict[str, bool]
    token: UnsubscribeToken


def contact_of(
    session: Session, settings: Settings, token: str
) -> tuple[Contact, UnsubscribeToken]:
    """Return the contact and purpose a token names; raise LinkInvalid, LinkExpired."""
    data = read_unsubscribe_token(settings, token)
    contact = session.get(Contact, data.contact_id)
    if contact is None:
        raise LinkInvalid("this link is not valid any more")
    return contact, data


def unsubscribe(session: Session, settings: Settings, token: str, *, actor: str) -> frozenset[int]:
    """Record the unsubscribe a token names (its topic, or all marketing), once.

    When the link names its message, an `Email Unsubscribed` event is recorded for it (journey
    and experiment results count it); returns the accounts whose events moved.
    """
    contact, data = contact_of(session, settings, token)
    if consent.latest_consent(session, contact.id, "email", data.purpose) is False:
        return frozenset()
    consent.record_consent(
        session, contact, purpose=data.purpose, granted=False, source="unsubscribe", actor=actor
    )
    message = session.get(Message, data.message_id) if data.message_id else None
    if message is None or message.contact_id != contact.id:
        return frozenset()
    return record_unsubscribed(session, settings, message, data.purpose)


def preferences(session: Session, settings: Settings, token: str) -> Preferences:
    """Return the preference page's state for the token's contact."""
    contact, data = contact_of(session, settings, token)
    state = consent.consent_state(session, contact)
    marketing = bool(state.get(consent.MARKETING, {}).get("granted"))
    topics = {t: state.get(t, {}).get("granted", True) for t in consent.marketing_topics(session)}
    if data.purpose != consent.MARKETING and data.purpose not in topics:
        topics[data.purpose] = state.get(data.purpose, {}).get("granted", True)
    return Preferences(contact, marketing, dict(sorted(topics.items())), data)


def save_preferences(
    session: Session, settings: Settings, token: str, *, marketing: bool, topics: set[str]
) -> Preferences:
    """Record the choices that changed: marketing on/off and each offered topic (checked = on)."""
    current = preferences(session, settings, token)
    contact = current.contact
    if marketing != current.marketing:
        consent.record_consent(
            session, contact, purpose=consent.MARKETING, granted=marketing,
            source="preference_page", actor=contact.email,
        )  # fmt: skip
    for topic, granted in current.topics.items():
        wanted = topic in topics
        if wanted != granted:
            consent.record_consent(
                session, contact, purpose=topic, granted=wanted, source="preference_page",
                actor=contact.email,
            )  # fmt: skip
    return preferences(session, settings, token)
