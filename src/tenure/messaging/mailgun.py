"""Mailgun's event webhook: bounces and complaints become suppressions, signature-checked, once.

Mailgun posts JSON `{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}`;
`signature` is the hex HMAC-SHA256 of `timestamp + token` under the webhook signing key.
A timestamp older (or newer) than `mailgun_webhook_max_age_seconds` is refused, and so is a
signing token seen before with another event (a replay). An event id seen before is answered as a
duplicate and changes nothing. `failed` with severity `permanent` suppresses the recipient as a
hard bounce (and marks the Tenure message bounced when its Message-ID is ours), `complained`
suppresses it as a complaint, `unsubscribed` records a marketing unsubscribe for the address's
contacts; other events (delivered, opened, temporary failures…) are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Contact
from tenure.alerts.models import AlertDelivery
from tenure.config import Settings
from tenure.errors import InputError
from tenure.messaging import consent
from tenure.messaging.models import Message
from tenure.messaging.provider_models import EmailProviderEvent
from tenure.messaging.suppression import suppress

PROVIDER = "mailgun"
OUR_MESSAGE_ID = re.compile(r"tenure\.(\d+)\.([0-9a-f]{24})@")


class SignatureInvalid(InputError):
    """The webhook's signature is missing, wrong, too old or replayed (HTTP 400)."""


@dataclass(frozen=True)
class WebhookOutcome:
    """What one webhook call did."""

    event_id: str
    event: str
    outcome: str
    duplicate: bool = False


def sign(signing_key: str, timestamp: str, token: str) -> str:
    """Return Mailgun's signature of a timestamp and token."""
    data = f"{timestamp}{token}".encode()
    return hmac.new(signing_key.encode(), data, hashlib.sha256).hexdigest()


def verify_signature(body: dict[str, Any], settings: Settings) -> dict[str, str]:
    """Check the body's signature block and its age; return it; raise SignatureInvalid."""
    block = body.get("signature")
    if not isinstance(block, dict):
        raise SignatureInvalid("the webhook body has no signature object")
    timestamp, token, signature = (
        str(block.get(k) or "") for k in ("timestamp", "token", "signature")
    )
    if not timestamp.isdigit() or not token or not signature:
        raise SignatureInvalid("the signature needs timestamp, token and signature")
    key = settings.mailgun_webhook_signing_key or ""
    if not hmac.compare_digest(sign(key, timestamp, token), signature.lower()):
        raise SignatureInvalid("the Mailgun signature does not match")
    age = abs(clock.now().timestamp() - int(timestamp))
    if age > settings.mailgun_webhook_max_age_seconds:
        raise SignatureInvalid(f"the signed timestamp is {int(age)} s old: refused as a replay")
    return {"timestamp": timestamp, "token": token}


def _event_data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("event-data")
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise InputError("the webhook body has no event-data with an event")
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise InputError("the webhook's event-data has no id")
    return data


def _our_message(session: Session, data: dict[str, Any]) -> Message | None:
    """Return the Tenure message an event is about, from the Message-ID Tenure gave it."""
    headers = (data.get("message") or {}).get("headers") or {}
    match = OUR_MESSAGE_ID.search(str(headers.get("message-id") or ""))
    if match is None:
        return None
    delivery = session.get(AlertDelivery, int(match.group(1)))
    if delivery is None or delivery.message_id is None:
        return None
    digest = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:24]
    return session.get(Message, delivery.message_id) if digest == match.group(2) else None


def _detail(data: dict[str, Any]) -> str:
    status = data.get("delivery-status") or {}
    parts = [str(status.get(k)) for k in ("code", "message", "description") if status.get(k)]
    return " ".join(parts)[:1000] or str(data.get("reason") or "")


def _apply(session: Session, data: dict[str, Any]) -> str:
    """Apply one event; return what it did."""
    event, recipient = data["event"], str(data.get("recipient") or "").strip().lower()
    if not recipient:
        return "ignored: no recipient"
    source = f"webhook:{PROVIDER}"
    if event == "failed" and data.get("severity") == "permanent":
        suppress(session, recipient, "hard_bounce", source, _detail(data))
        message = _our_message(session, data)
        if message is not None:
            message.status, message.status_reason = "bounced", _detail(data) or "hard bounce"
        return "suppressed: hard_bounce"
    if event == "complained":
        suppress(session, recipient, "complaint", source, "complaint (feedback loop)")
        return "suppressed: complaint"
    if event == "unsubscribed":
        contacts = session.scalars(
            sa.select(Contact).where(sa.func.lower(Contact.email) == recipient)
        )
        for contact in contacts:
            consent.record_consent(
                session, contact, purpose=consent.MARKETING, granted=False, source="webhook",
                actor=source,
            )  # fmt: skip
        return "unsubscribed"
    return f"ignored: {event}" + (f" ({data.get('severity')})" if data.get("severity") else "")


def handle_event(session: Session, settings: Settings, body: dict[str, Any]) -> WebhookOutcome:
    """Verify a Mailgun webhook body and apply its event once (the caller commits)."""
    signed = verify_signature(body, settings)
    data = _event_data(body)
    event_key = f"{PROVIDER}:{data['id']}"[:160]
    seen = session.scalar(
        sa.select(EmailProviderEvent).where(EmailProviderEvent.event_key == event_key)
    )
    if seen is not None:
        return WebhookOutcome(data["id"], seen.event, seen.outcome, duplicate=True)
    token_key = f"{PROVIDER}:{signed['token']}"[:160]
    if session.scalar(
        sa.select(EmailProviderEvent.id).where(EmailProviderEvent.token_key == token_key)
    ):
        raise SignatureInvalid("this signing token was used before: refused as a replay")
    outcome = _apply(session, data)
    session.add(
        EmailProviderEvent(
            provider=PROVIDER, event_key=event_key, token_key=token_key, event=data["event"][:32],
            recipient=str(data.get("recipient") or "")[:320] or None, outcome=outcome[:64],
            received_at=clock.now(),
        )
    )  # fmt: skip
    session.flush()
    return WebhookOutcome(data["id"], data["event"], outcome)
