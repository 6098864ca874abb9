"""Finish a rendered message before it is queued: unsubscribe headers, footer, tracking.

`sending.send_message` calls `decorate` once the Message row exists (its id signs the links) and
puts the returned headers on the outbox row.
"""

from __future__ import annotations

import dataclasses
import html as html_lib

from sqlalchemy.orm import Session

from tenure.accounts.models import Contact
from tenure.config import Settings
from tenure.messaging.consent import required_consent
from tenure.messaging.models import Message
from tenure.messaging.schemas import RenderedMessage
from tenure.messaging.tracking import BODY_END, instrument
from tenure.messaging.unsubscribe import footer_context, unsubscribe_headers


def _has_footer(body: str | None, settings: Settings) -> bool:
    base = settings.public_url.rstrip("/")
    return bool(body) and (f"{base}/u/" in body or f"{base}/preferences/" in body)


def _html_footer(html: str, footer: dict[str, str]) -> str:
    """Append the unsubscribe footer (links and postal address) inside the HTML body."""
    e = html_lib.escape
    address = f"{e(footer['postal_address'])}<br>" if footer["postal_address"] else ""
    block = (
        '<p class="tenure-footer" style="font-size:12px;color:#6b7280;text-align:center">'
        f'{address}<a href="{e(footer["preferences_url"])}">Email preferences</a> · '
        f'<a href="{e(footer["unsubscribe_url"])}">Unsubscribe</a></p>'
    )
    ends = list(BODY_END.finditer(html))
    if not ends:
        return html + block
    return html[: ends[-1].start()] + block + html[ends[-1].start() :]


def _text_footer(text: str, footer: dict[str, str]) -> str:
    lines = ["", "--", f"Unsubscribe: {footer['unsubscribe_url']}"]
    lines.append(f"Email preferences: {footer['preferences_url']}")
    if footer["postal_address"]:
        lines.append(footer["postal_address"])
    return text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def decorate(
    session: Session, message: Message, rendered: RenderedMessage, settings: Settings
) -> tuple[RenderedMessage, dict[str, str]]:
    """Return the message with footer and tracked links, and its extra email headers.

    Messages whose purpose needs consent (marketing by default) get RFC 8058 unsubscribe headers
    and, when the template has none, a footer with the unsubscribe and preference links and the
    postal address. Every HTML part gets tracked links and an open pixel.
    """
    html, text, headers = rendered.html, rendered.text, {}
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    if contact is not None and required_consent(message.purpose, settings):
        headers = unsubscribe_headers(message, settings)
        footer = footer_context(message, contact, settings)
        if html and not _has_footer(html, settings):
            html = _html_footer(html, footer)
        if not _has_footer(text, settings):
            text = _text_footer(text, footer)
    if html:
        html = instrument(html, message, settings)
    return dataclasses.replace(rendered, html=html, text=text), headers
