"""The messages an account and its contacts were sent, as the account 360 lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact
from tenure.accounts.schemas import Reader
from tenure.auth.roles import can
from tenure.messaging.models import Journey, Message


@dataclass(frozen=True)
class MessageRow:
    """One message of the 360: what went to whom, what became of it, which journey sent it."""

    id: int
    template: str
    template_version: int
    to: str
    subject: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    opens: int
    clicks: int
    journey: str | None

    def as_dict(self) -> dict[str, object]:
        """Return the row as the API shows it."""
        return dict(self.__dict__)


def may_read_messages(reader: Reader, account: Account) -> bool:
    """Return whether the reader may see the account's messages (a csm: only their accounts)."""
    if not can(reader.role, "messages:read"):
        return False
    return reader.role != "csm" or (account.owner or "").lower() == reader.email.lower()


def recent_messages(
    db_session: Session, account: Account, reader: Reader, limit: int = 50
) -> list[MessageRow] | None:
    """Return the newest messages to the account or its contacts; None if the reader may not."""
    if not may_read_messages(reader, account):
        return None
    contacts = sa.select(Contact.id).where(Contact.account_id == account.id)
    query = (
        sa.select(Message, Journey.key)
        .outerjoin(Journey, Journey.id == Message.journey_id)
        .where(sa.or_(Message.account_id == account.id, Message.contact_id.in_(contacts)))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return [_row(message, journey) for message, journey in db_session.execute(query)]


def _row(message: Message, journey: str | None) -> MessageRow:
    return MessageRow(
        id=message.id,
        template=message.template_name,
        template_version=message.template_version,
        to=message.to_email,
        subject=message.subject,
        status=message.status,
        created_at=message.created_at,
        sent_at=message.sent_at,
        opens=message.opens,
        clicks=message.clicks,
        journey=journey,
    )
