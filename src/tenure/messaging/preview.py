"""Preview a template version for a real account, and send a test message of it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact
from tenure.config import Settings
from tenure.errors import NotFound
from tenure.messaging import context, render
from tenure.messaging.models import Message
from tenure.messaging.schemas import RenderedMessage
from tenure.messaging.sending import MessageOrigin, send_message


def find_account(session: Session, reference: str | int) -> Account:
    """Return an account by id (digits) or external id, or raise NotFound."""
    text = str(reference).strip()
    account = None
    if text.isdigit() and len(text) < 12:
        account = session.get(Account, int(text))
    if account is None:
        account = session.scalar(sa.select(Account).where(Account.external_id == text))
    if account is None:
        raise NotFound(f"no account with id {text!r}")
    return account


def find_contact(session: Session, account: Account, reference: str | int | None) -> Contact:
    """Return the given contact of the account, else its first one, else a stand-in."""
    query = sa.select(Contact).where(Contact.account_id == account.id)
    if reference is not None:
        text = str(reference).strip()
        match = Contact.external_id == text
        if text.isdigit() and len(text) < 12:
            match = match | (Contact.id == int(text))
        contact = session.scalar(query.where(match))
        if contact is None:
            raise NotFound(f"no contact {text!r} at account {account.external_id!r}")
        return contact
    first = session.scalar(query.order_by(Contact.id).limit(1))
    return first or Contact(account_id=account.id, external_id="preview", name=account.name)


def preview(
    session: Session,
    settings: Settings,
    name: str,
    *,
    account: str | int,
    contact: str | int | None = None,
    version: int | None = None,
) -> RenderedMessage:
    """Render a stored template version for one of an account's contacts."""
    template = render.load_template(session, name, version)
    found = find_account(session, account)
    person = find_contact(session, found, contact)
    variables = context.message_context(session, found, person, settings)
    return render.render_template(template, variables)


def queue_test(
    session: Session,
    settings: Settings,
    name: str,
    *,
    to: str,
    account: str | int,
    version: int | None = None,
) -> Message:
    """Queue a test send of a template to an address, as the account's first contact.

    It goes through `send_message` with a one-off idempotency key, to a stand-in contact (the
    account's first contact's details, the given address) who has consented, so no real
    contact's consent is read or changed; the message is recorded as transactional.
    """
    found = find_account(session, account)
    person = find_contact(session, found, None)
    stand_in = Contact(
        account_id=found.id,
        external_id=f"test-send-{uuid.uuid4().hex[:8]}",
        email=to,
        name=person.name,
        role=person.role,
        locale=person.locale,
        timezone=person.timezone,
        consent={"email": True},
    )
    origin = MessageOrigin(idempotency_key=f"test-{name}-{uuid.uuid4().hex}")
    message = send_message(
        session,
        settings,
        account=found,
        contact=stand_in,
        template=name,
        version=version,
        origin=origin,
    )
    message.purpose = "transactional"
    message.contact_id = None
    session.flush()
    return message
