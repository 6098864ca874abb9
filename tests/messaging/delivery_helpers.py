"""A scripted loopback SMTP server and a queue of real messages for the delivery tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenure.db.session import session_scope
from tenure.messaging.models import MessageTemplate
from tenure.messaging.sending import MessageOrigin, send_message

from ..alerts.conftest import SmtpSink
from ..factories import add_account, add_contact

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)


@dataclass
class ScriptedSink(SmtpSink):
    """An SMTP sink that counts sessions and answers scripted replies to RCPT and DATA."""

    ehlos: int = 0
    peers: set[Any] = field(default_factory=set)
    logins: list[str] = field(default_factory=list)
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)  # address → replies, then 250
    data_replies: list[str] = field(default_factory=list)  # in order, then 250

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.ehlos += 1
        self.peers.add(session.peer)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts += 1
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        return await super().handle_DATA(server, session, envelope)


def queue_messages(engine, settings, addresses: list[str], *, prefix: str = "m") -> list[int]:
    """Queue one real message (template render, consent, outbox row) per address."""
    ids = []
    with session_scope(engine) as session:
        account = add_account(session, name="Acme")
        session.add(
            MessageTemplate(
                name="hello",
                version=1,
                subject="Hi {{ contact.first_name }}",
                body="<p>Hello {{ contact.name }}</p>",
                text_body="Hello {{ contact.name }}",
                purpose="marketing",
                created_at=NOW,
            )
        )
        for n, address in enumerate(addresses):
            contact = add_contact(
                session, account, name=f"Ada {n}", email=address, consent={"email": True}
            )
            message = send_message(
                session,
                settings,
                account=account,
                contact=contact,
                template="hello",
                version=1,
                origin=MessageOrigin(idempotency_key=f"{prefix}-{n}"),
            )
            ids.append(message.id)
    return ids
