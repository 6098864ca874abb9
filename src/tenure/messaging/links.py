"""Signed links in emails: unsubscribe/preference tokens (expiring), click and open tokens.

A token is `base64url(payload).base64url(HMAC-SHA256(key, kind + payload)[:16])`. The key is
derived from the app's `secret_key` (`tenure.auth.tokens.signing_key`) per purpose, so a token
of one kind never verifies as another, and rotating the secret key voids every link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from tenure import clock
from tenure.auth.tokens import signing_key
from tenure.config import Settings
from tenure.errors import InputError, NotFound

MAC_BYTES = 16  # 128-bit tags keep links short; forging one still takes 2^128 tries
UNSUBSCRIBE, CLICK, OPEN = "unsubscribe", "click", "open"


class LinkInvalid(NotFound):
    """A link's token does not verify: tampered, truncated or signed with another key (404)."""


class LinkExpired(InputError):
    """An unsubscribe or preference link is past its expiry (400)."""


@dataclass(frozen=True)
class UnsubscribeToken:
    """What an unsubscribe/preference link names: a contact, a purpose or topic, an expiry."""

    contact_id: int
    purpose: str
    expires: datetime
    message_id: int | None = None


def link_key(settings: Settings, kind: str) -> bytes:
    """Return the HMAC key of one kind of link, derived from the app's secret key."""
    return _derived_key(signing_key(settings), kind)


@lru_cache(maxsize=64)
def _derived_key(secret: str, kind: str) -> bytes:
    """Return HMAC-SHA256(secret, label of kind): one key per kind of link (cached)."""
    return hmac.new(
        secret.encode(), f"tenure.messaging.link.{kind}".encode(), hashlib.sha256
    ).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LinkInvalid("this link is not valid") from None


def sign(settings: Settings, kind: str, payload: str) -> str:
    """Return the signed token of a payload for one kind of link."""
    data = payload.encode("utf-8")
    mac = hmac.digest(link_key(settings, kind), data, "sha256")[:MAC_BYTES]
    return f"{_b64(data)}.{_b64(mac)}"


def verify(settings: Settings, kind: str, token: str) -> str:
    """Return the payload of a token of this kind; raise LinkInvalid if it does not verify."""
    body, dot, tag = token.partition(".")
    if not dot or not body or not tag or len(token) > 4096:
        raise LinkInvalid("this link is not valid")
    data, mac = _unb64(body), _unb64(tag)
    expected = hmac.digest(link_key(settings, kind), data, "sha256")[:MAC_BYTES]
    if not hmac.compare_digest(expected, mac):
        raise LinkInvalid("this link is not valid")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LinkInvalid("this link is not valid") from None


def unsubscribe_token(
    settings: Settings, contact_id: int, purpose: str, message_id: int | None = None
) -> str:
    """Return an expiring token for a contact's unsubscribe and preference links.

    message_id, when given, names the message the link came in (for attribution).
    """
    expires = int((clock.now() + timedelta(days=settings.unsubscribe_token_days)).timestamp())
    message = "" if message_id is None else str(message_id)
    return sign(settings, UNSUBSCRIBE, f"{contact_id}|{purpose}|{expires}|{message}")


def read_unsubscribe_token(settings: Settings, token: str) -> UnsubscribeToken:
    """Return what an unsubscribe token names; raise LinkInvalid or LinkExpired."""
    parts = verify(settings, UNSUBSCRIBE, token).split("|")
    if len(parts) != 4:
        raise LinkInvalid("this link is not valid")
    contact, purpose, expiry, message = parts
    if not contact.isdigit() or not purpose or not expiry.isdigit():
        raise LinkInvalid("this link is not valid")
    if message and not message.isdigit():
        raise LinkInvalid("this link is not valid")
    expires = datetime.fromtimestamp(int(expiry), tz=UTC)
    if clock.now() >= expires:
        raise LinkExpired(
            "this link has expired: use the unsubscribe or preferences link of a newer email"
        )
    return UnsubscribeToken(int(contact), purpose, expires, int(message) if message else None)


def click_token(settings: Settings, message_id: int, url: str) -> str:
    """Return the token of a tracked link: the message and the destination, signed."""
    return sign(settings, CLICK, f"{message_id}|{url}")


def read_click_token(settings: Settings, token: str) -> tuple[int, str]:
    """Return the message id and destination of a click token; raise LinkInvalid."""
    message, _, url = verify(settings, CLICK, token).partition("|")
    if not message.isdigit() or not url.startswith(("http://", "https://")):
        raise LinkInvalid("this link is not valid")
    return int(message), url


def open_token(settings: Settings, message_id: int) -> str:
    """Return the token of a message's open pixel."""
    return sign(settings, OPEN, str(message_id))


def read_open_token(settings: Settings, token: str) -> int:
    """Return the message id of an open-pixel token; raise LinkInvalid."""
    message = verify(settings, OPEN, token)
    if not message.isdigit():
        raise LinkInvalid("this link is not valid")
    return int(message)
