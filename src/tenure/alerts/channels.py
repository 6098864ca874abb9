"""Delivery channels: email over SMTP, Slack incoming webhooks, HMAC-signed generic webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, cast

import httpx

from tenure import clock
from tenure.alerts import mime
from tenure.alerts.models import AlertDelivery
from tenure.alerts.smtp import DeliveryError, SmtpSender
from tenure.config import Settings

SIGNATURE_HEADER = "Tenure-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TIMEOUT_SECONDS = 15.0
RETRYABLE_HTTP = {408, 425, 429}


def message_id(delivery: AlertDelivery) -> str:
    """Return the stable Message-ID of a delivery (the same on every attempt)."""
    digest = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:24]
    return f"<tenure.{delivery.id}.{digest}@tenure.invalid>"


def email_headers(settings: Settings, delivery: AlertDelivery) -> list[tuple[str, str]]:
    """Return the headers of a delivery's email, its idempotency key among them."""
    headers = [
        ("From", settings.mail_from),
        ("To", delivery.target),
        ("Subject", delivery.subject),
        ("Date", format_datetime(clock.now())),
        ("Message-ID", message_id(delivery)),
        ("X-Tenure-Idempotency-Key", delivery.idempotency_key),
    ]
    return headers + [(name, str(value)) for name, value in (delivery.headers or {}).items()]


def email_bytes(settings: Settings, delivery: AlertDelivery) -> bytes:
    """Return a delivery's email as sent: headers, text part and, if any, the HTML alternative."""
    headers = email_headers(settings, delivery)
    attachments = (delivery.payload or {}).get("attachments")
    return mime.email_bytes(
        headers, delivery.body, delivery.html_body, delivery.idempotency_key, attachments
    )


def build_email(settings: Settings, delivery: AlertDelivery) -> EmailMessage:
    """Return the email of a delivery as an object (parsed from the bytes that are sent)."""
    raw = email_bytes(settings, delivery)
    return cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def _nothing() -> None:
    return None


def send_email(
    settings: Settings,
    delivery: AlertDelivery,
    on_accepted: Callable[[], None] = _nothing,
    sender: SmtpSender | None = None,
) -> None:
    """Send a delivery by SMTP (on sender's open session, else on a session of its own)."""
    raw = email_bytes(settings, delivery)
    if sender is not None:
        sender.send(delivery.target, raw, on_accepted)
        return
    with SmtpSender(settings) as own:
        own.send(delivery.target, raw, on_accepted)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value: t=<unix seconds>,v1=<HMAC-SHA256 of "t.body">."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: datetime | None = None, tolerance: int = 300
) -> bool:
    """Return whether a signature header is valid for body and no older than tolerance seconds."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = (now or clock.now()).timestamp()
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _post(
    url: str, body: bytes, headers: dict[str, str], what: str, on_accepted: Callable[[], None]
) -> None:
    """POST body; on 2xx call on_accepted; raise DeliveryError (permanent for most 4xx)."""
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            response = client.post(url, content=body, headers=headers)
            if response.is_success:
                on_accepted()
                return
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what} {url}: {exc!r}") from exc
    code = response.status_code
    permanent = 400 <= code < 500 and code not in RETRYABLE_HTTP
    raise DeliveryError(f"{what} {url} answered {code}: {response.text[:200]}", permanent=permanent)


def _json_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def post_slack(
    settings: Settings, delivery: AlertDelivery, on_accepted: Callable[[], None] = _nothing
) -> None:
    """Post a delivery to the Slack incoming webhook."""
    if not settings.slack_webhook_url:
        raise DeliveryError("no slack_webhook_url is configured", permanent=True)
    alert = delivery.payload.get("alert", {})
    text = f"*{delivery.subject}*\n{alert.get('message', '')}\nOwner: {alert.get('owner', '')}"
    payload = {
        "text": delivery.subject,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: delivery.idempotency_key}
    _post(settings.slack_webhook_url, _json_bytes(payload), headers, "Slack webhook", on_accepted)


def post_webhook(
    settings: Settings, delivery: AlertDelivery, on_accepted: Callable[[], None] = _nothing
) -> None:
    """POST a delivery's JSON to its endpoint, signed with the endpoint's secret."""
    endpoint = settings.alert_webhooks.get(delivery.target)
    if endpoint is None:
        raise DeliveryError(f"no alert webhook named {delivery.target!r}", permanent=True)
    body = _json_bytes(delivery.payload)
    timestamp = int(clock.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tenure-alerts",
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        IDEMPOTENCY_HEADER: delivery.idempotency_key,
    }
    _post(endpoint.url, body, headers, f"webhook {delivery.target}", on_accepted)


SENDERS = {"slack": post_slack, "webhook": post_webhook}


def send(
    settings: Settings,
    delivery: AlertDelivery,
    on_accepted: Callable[[], None] = _nothing,
    smtp: SmtpSender | None = None,
) -> None:
    """Send a delivery on its channel, calling on_accepted the moment the receiver took it.

    Emails go over smtp (one session shared by a drain) when given. Raise DeliveryError when
    the delivery was not accepted (on_accepted was then not called).
    """
    if delivery.channel == "email":
        send_email(settings, delivery, on_accepted, smtp)
        return
    post = SENDERS.get(delivery.channel)
    if post is None:
        raise DeliveryError(f"unknown channel {delivery.channel!r}", permanent=True)
    post(settings, delivery, on_accepted)
