"""Open and click tracking: signed links in the HTML, `Email Opened`/`Email Clicked` events.

`instrument` rewrites every http(s) link of a message's HTML to `/t/c/{token}` (the token signs
the message id and the destination, so a changed destination is a 404, never an open redirect)
and adds a 1×1 pixel `/t/o/{token}.gif`. Opens and clicks update the message's counters and are
recorded through the event intake (`record_events`), so health, journeys and experiments see them.

Machine opens are counted in `machine_opens`, not `opens`, and their events carry
`machine: true`: an open within `tracking_machine_open_seconds` of delivery (a link scanner or a
prefetching proxy), an empty user agent, Apple Mail Privacy Protection's bare `Mozilla/5.0`, or a
user agent naming a scanner or HTTP library. Apple's proxy cannot be told by address offline, so
these are heuristics: a human open through such a proxy is undercounted, never double counted.
Machine clicks (same rules) still redirect and are recorded with `machine: true` but do not
count in `clicks`. A human click on a message never seen opened also sets `first_opened_at`.
"""

from __future__ import annotations

import html as html_lib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.alerts.models import AlertDelivery
from tenure.config import Settings
from tenure.events.service import record_events
from tenure.messaging.links import click_token, open_token
from tenure.messaging.models import Message

LINK = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.I)
BODY_END = re.compile(r"</body\s*>", re.I)
OPENED, CLICKED, UNSUBSCRIBED = "Email Opened", "Email Clicked", "Email Unsubscribed"
# Lower-cased fragments of user agents that are scanners, security gateways or HTTP libraries.
SCANNER_AGENTS = (
    "bot", "crawler", "spider", "scanner", "barracuda", "mimecast", "proofpoint", "safelinks",
    "urldefense", "forcepoint", "messagelabs", "trendmicro", "symantec", "fireeye", "cisco",
    "python-requests", "python-urllib", "aiohttp", "httpx", "curl/", "wget", "go-http-client",
    "java/", "okhttp", "libwww", "headlesschrome", "phantomjs",
)  # fmt: skip
APPLE_PROXY_AGENT = "mozilla/5.0"  # Apple MPP fetches images with this bare user agent


@dataclass(frozen=True)
class Tracked:
    """What recording an open or a click did: machine or not, and accounts whose usage moved."""

    machine: bool
    reason: str | None
    touched_accounts: frozenset[int] = frozenset()


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def _own_link(url: str, settings: Settings) -> bool:
    """Return whether a URL is Tenure's own unsubscribe or preference link (left untracked)."""
    base = _base(settings)
    return url.startswith((f"{base}/u/", f"{base}/preferences/", f"{base}/t/"))


def instrument(html: str, message: Any, settings: Settings) -> str:
    """Return the HTML with tracked links (HMAC-signed) and an open pixel."""
    base = _base(settings)

    def tracked(match: re.Match[str]) -> str:
        url = html_lib.unescape(match.group(3)).strip()
        if _own_link(url, settings):
            return match.group(0)
        token = click_token(settings, message.id, url)
        return f"{match.group(1)}{match.group(2)}{base}/t/c/{token}{match.group(2)}"

    linked = LINK.sub(tracked, html)
    pixel = (
        f'<img src="{base}/t/o/{open_token(settings, message.id)}.gif" width="1" height="1"'
        ' alt="" style="display:block;border:0;width:1px;height:1px">'
    )
    ends = list(BODY_END.finditer(linked))
    if not ends:
        return linked + pixel
    at = ends[-1].start()
    return linked[:at] + pixel + linked[at:]


def machine_reason(
    user_agent: str | None, delivered_at: datetime | None, now: datetime, settings: Settings
) -> str | None:
    """Return why a request looks like a machine's (agent, apple_mpp, too_soon), else None."""
    agent = (user_agent or "").strip().lower()
    if not agent:
        return "agent"
    if agent == APPLE_PROXY_AGENT:
        return "apple_mpp"
    if any(fragment in agent for fragment in SCANNER_AGENTS):
        return "agent"
    soon = settings.tracking_machine_open_seconds
    if delivered_at is not None and (now - delivered_at).total_seconds() < soon:
        return "too_soon"
    return None


def delivered_at(session: Session, message: Message) -> datetime | None:
    """Return when a message went out: its sent_at, else its outbox row's."""
    if message.sent_at is not None:
        return message.sent_at
    return session.scalar(
        sa.select(sa.func.max(AlertDelivery.sent_at)).where(AlertDelivery.message_id == message.id)
    )


def _event(
    session: Session, message: Message, name: str, extra: dict[str, Any]
) -> dict[str, Any] | None:
    account = session.get(Account, message.account_id) if message.account_id else None
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    if account is None and contact is None:
        return None
    properties = {
        "message": message.id, "template": message.template_name,
        "template_version": message.template_version, "topic": message.topic,
        "journey_id": message.journey_id, "step_id": message.step_id, "variant": message.variant,
    } | extra  # fmt: skip
    return {
        "message_id": f"{name.lower().replace(' ', '-')}-{message.id}-{uuid.uuid4().hex[:16]}",
        "account_id": account.external_id if account else None,
        "contact_id": contact.external_id if contact else None,
        "event": name,
        "timestamp": clock.now(),
        "properties": properties,
        "source": "email",
    }


def _record(
    session: Session, settings: Settings, message: Message, name: str, extra: dict[str, Any]
) -> frozenset[int]:
    event = _event(session, message, name, extra)
    if event is None:
        return frozenset()
    result = record_events([event], db_session=session, login_events=settings.health_login_events)
    return result.touched_accounts


def record_open(
    session: Session, settings: Settings, message_id: int, *, user_agent: str | None
) -> Tracked | None:
    """Count an open of a message and record `Email Opened`; None when the message is gone."""
    message = session.get(Message, message_id)
    if message is None:
        return None
    now = clock.now()
    reason = machine_reason(user_agent, delivered_at(session, message), now, settings)
    if reason:
        message.machine_opens = Message.machine_opens + 1
    else:
        message.opens = Message.opens + 1
        message.first_opened_at = message.first_opened_at or now
    extra = {
        "machine": bool(reason),
        "machine_reason": reason,
        "user_agent": (user_agent or "")[:200],
    }
    touched = _record(session, settings, message, OPENED, extra)
    session.flush()
    return Tracked(bool(reason), reason, touched)


def record_click(
    session: Session, settings: Settings, message_id: int, url: str, *, user_agent: str | None
) -> Tracked | None:
    """Count a click of a message's link and record `Email Clicked`; None when it is gone."""
    message = session.get(Message, message_id)
    if message is None:
        return None
    now = clock.now()
    reason = machine_reason(user_agent, delivered_at(session, message), now, settings)
    if not reason:
        message.clicks = Message.clicks + 1
        message.first_clicked_at = message.first_clicked_at or now
        message.first_opened_at = message.first_opened_at or now
    extra = {
        "url": url[:2000], "machine": bool(reason), "machine_reason": reason,
        "user_agent": (user_agent or "")[:200],
    }  # fmt: skip
    touched = _record(session, settings, message, CLICKED, extra)
    session.flush()
    return Tracked(bool(reason), reason, touched)


def record_unsubscribed(
    session: Session, settings: Settings, message: Message, purpose: str
) -> frozenset[int]:
    """Record `Email Unsubscribed` for the message an unsubscribe link came in."""
    return _record(session, settings, message, UNSUBSCRIBED, {"unsubscribed_from": purpose})
