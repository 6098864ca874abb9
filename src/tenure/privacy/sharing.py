"""CCPA "do not sell or share": contacts who opted out are withheld from what leaves Tenure for a
third party (alert and play webhooks, Slack). Their opt-out is a consent decision on the purpose
`sell_share` (granted false); their email, name and external id are replaced by [withheld].
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Contact
from tenure.messaging.models import ContactConsent
from tenure.privacy.erase_app import replace_all
from tenure.privacy.subjects import Person

SELL_SHARE = "sell_share"
WITHHELD = "[withheld]"
THIRD_PARTY_CHANNELS = ("webhook", "slack")


def opted_out(session: Session) -> list[Person]:
    """Return the contacts whose newest sell/share decision is an opt-out."""
    rows = session.execute(
        sa.select(ContactConsent.contact_id, ContactConsent.granted)
        .where(ContactConsent.purpose == SELL_SHARE)
        .order_by(ContactConsent.at, ContactConsent.id)
    ).all()
    newest = {contact_id: granted for contact_id, granted in rows}
    ids = [contact_id for contact_id, granted in newest.items() if not granted]
    if not ids:
        return []
    contacts = session.scalars(sa.select(Contact).where(Contact.id.in_(ids)))
    return [Person(c.id, c.account_id, c.external_id, c.email, c.name) for c in contacts]


def withhold(session: Session, channel: str, *parts: Any) -> tuple[Any, ...]:
    """Return parts (text or JSON) bound for a third-party channel without opted-out people."""
    if channel not in THIRD_PARTY_CHANNELS:
        return parts
    needles = sorted({i for p in opted_out(session) for i in p.identifiers}, key=len, reverse=True)
    if not needles:
        return parts
    return tuple(replace_all(part, needles, WITHHELD) for part in parts)
