"""One message per idempotency key, consent respected, HTML and text parts delivered."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import sqlalchemy as sa

from tenure.alerts.delivery import deliver_due
from tenure.alerts.models import AlertDelivery
from tenure.db.session import session_scope
from tenure.messaging.models import ContactConsent, Message, MessageTemplate
from tenure.messaging.sending import MessageOrigin, send_message

from ..factories import add_account, add_contact

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def add_template(session, name="welcome", version=1, **fields):
    """Store one template version."""
    values = {
        "subject": "Hello {{ contact.first_name }} at {{ account.name }}",
        "body": "<p>Hi {{ contact.name }}</p>",
        "text_body": "Hi {{ contact.name }}",
        "purpose": "marketing",
        "created_at": NOW,
    } | fields
    row = MessageTemplate(name=name, version=version, **values)
    session.add(row)
    session.flush()
    return row


def test_send_once_and_deliver_html_and_text(engine, settings, smtp_sink, frozen_clock):
    settings = settings.model_copy(update={"smtp_port": smtp_sink.port, "mail_from": "cs@x.io"})
    with session_scope(engine) as session:
        account = add_account(session, name="Acme & Co")
        contact = add_contact(
            session, account, name="Ada Lovelace", email="ada@acme.io", consent={"email": True}
        )
        add_template(session)
        origin = MessageOrigin(idempotency_key="journey-1-step-a-contact")
        first = send_message(
            session,
            settings,
            account=account,
            contact=contact,
            template="welcome",
            version=None,
            origin=origin,
        )
        again = send_message(
            session,
            settings,
            account=account,
            contact=contact,
            template="welcome",
            version=None,
            origin=origin,
        )
        assert first.id == again.id and first.status == "queued"
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AlertDelivery)) == 1
    assert deliver_due(engine, settings).sent == 1
    (raw,) = smtp_sink.messages
    received = message_from_bytes(raw.as_bytes(), policy=policy.default)
    assert received["Subject"] == "Hello Ada at Acme & Co"
    html = received.get_body(("html",)).get_content()
    assert "Ada Lovelace" in html
    text = received.get_body(("plain",)).get_content()
    assert text.startswith("Hi Ada Lovelace") and "Unsubscribe: http" in text  # marketing footer


def test_no_marketing_without_consent(engine, settings):
    with session_scope(engine) as session:
        account = add_account(session)
        contact = add_contact(session, account, email="bo@acme.io", consent={"email": True})
        session.add(
            ContactConsent(
                contact_id=contact.id,
                channel="email",
                purpose="marketing",
                granted=False,
                source="preference_page",
                at=NOW,
            )
        )
        add_template(session)
        message = send_message(
            session,
            settings,
            account=account,
            contact=contact,
            template="welcome",
            version=1,
            origin=MessageOrigin(idempotency_key="k-2"),
        )
        assert (message.status, message.status_reason) == ("suppressed", "no_consent")
        assert session.scalar(sa.select(sa.func.count()).select_from(AlertDelivery)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_marketing_sends_carry_unsubscribe_headers_tracked_links_and_footer(
    engine, settings, smtp_sink, frozen_clock
):
    settings = settings.model_copy(
        update={
            "smtp_port": smtp_sink.port,
            "mail_from": "cs@x.io",
            "mail_postal_address": "1 Main St, Springfield",
        }
    )
    with session_scope(engine) as session:
        account = add_account(session, name="Acme")
        contact = add_contact(
            session, account, name="Ada", email="ada@acme.io", consent={"email": True}
        )
        add_template(
            session,
            body='<p>Read <a href="https://example.com/guide">the guide</a></p>'
            "<p>{{ footer.postal_address }}</p>",
        )
        send_message(
            session,
            settings,
            account=account,
            contact=contact,
            template="welcome",
            version=None,
            origin=MessageOrigin(idempotency_key="k-tracked"),
        )
    assert deliver_due(engine, settings).sent == 1
    (raw,) = smtp_sink.messages
    received = message_from_bytes(raw.as_bytes(), policy=policy.default)
    assert "/u/" in received["List-Unsubscribe"]
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = received.get_body(("html",)).get_content()
    assert "/t/c/" in html and "/t/o/" in html and "https://example.com/guide" not in html
    assert "1 Main St, Springfield" in html
