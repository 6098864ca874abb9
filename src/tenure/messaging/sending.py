"""Compose one message for one contact and queue it in the shared outbox, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.alerts import outbox
from tenure.config import Settings
from tenure.messaging import consent, context, render
from tenure.messaging.decorate import decorate
from tenure.messaging.models import Message
from tenure.messaging.schemas import RenderedMessage
from tenure.messaging.unsubscribe import footer_context


@dataclass(frozen=True)
class MessageOrigin:
    """Where a message comes from: its idempotency key and, for journeys, the step."""

    idempotency_key: str
    journey_id: int | None = None
    enrollment_id: int | None = None
    step_id: str | None = None
    variant: str | None = None


def send_message(
    session: Session,
    settings: Settings,
    *,
    account: Account,
    contact: Contact,
    template: str,
    version: int | None,
    origin: MessageOrigin,
    extra_context: dict[str, Any] | None = None,
) -> Message:
    """Record and queue one message (or its suppression); a repeated key returns the first."""
    existing = session.scalar(
        sa.select(Message).where(Message.idempotency_key == origin.idempotency_key)
    )
    if existing is not None:
        return existing
    stored = render.load_template(session, template, version)
    refusal = consent.may_send(session, contact, stored.purpose, stored.topic, settings=settings)
    if refusal is not None:
        return _record(session, account, contact, origin, stored, refusal)
    variables = context.message_context(session, account, contact, settings)
    variables["footer"] = footer_context(stored, contact, settings)
    rendered = render.render_template(stored, variables | (extra_context or {}))
    message = _record(session, account, contact, origin, stored, None, rendered.subject)
    rendered, headers = decorate(session, message, rendered, settings)
    queue_email(session, message, rendered, headers)
    return message


def _record(
    session: Session,
    account: Account,
    contact: Contact,
    origin: MessageOrigin,
    stored: Any,
    refusal: str | None,
    subject: str | None = None,
) -> Message:
    message = Message(
        idempotency_key=origin.idempotency_key,
        account_id=account.id,
        contact_id=contact.id,
        to_email=contact.email or "",
        template_name=stored.name,
        template_version=stored.version,
        purpose=stored.purpose,
        topic=stored.topic,
        journey_id=origin.journey_id,
        enrollment_id=origin.enrollment_id,
        step_id=origin.step_id,
        variant=origin.variant,
        subject=(subject or stored.subject or "")[:255],
        status="suppressed" if refusal else "queued",
        status_reason=refusal,
        created_at=clock.now(),
    )
    session.add(message)
    session.flush()
    return message


def queue_email(
    session: Session,
    message: Message,
    rendered: RenderedMessage,
    headers: dict[str, str] | None = None,
) -> None:
    """Add the outbox row that delivers a message (in the caller's transaction)."""
    outbox.add_delivery(
        session,
        "email",
        message.to_email,
        f"message-{message.idempotency_key}"[:128],
        rendered.subject[:255],
        rendered.text,
        {"type": "message", "message": message.id},
        None,
        "message",
        html_body=rendered.html,
        headers=headers or None,
        message_id=message.id,
    )
