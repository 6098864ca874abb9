"""Map Segment's track/identify/group/page/screen payloads onto Tenure events.

The account (external id) of a message is the first of: `context.groupId`, `groupId` (group
calls), `properties.account_id`, `traits.account_id`, `context.traits.account_id`. The contact
is `userId`, else `anonymousId`. The event name is `event` for track calls and the call type
otherwise ("identify", "group", "page", "screen"); properties are `properties` (track, page,
screen) or `traits` (identify, group). The time is `timestamp`, else `originalTimestamp`, else
the time the API received the message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenure import clock
from tenure.errors import InputError
from tenure.events.schemas import bounded_json_field

CallType = Literal["track", "identify", "group", "page", "screen"]
Id = str | int


class SegmentMessage(BaseModel):
    """One Segment call; unknown fields are accepted and ignored, as Segment does."""

    model_config = ConfigDict(extra="ignore")

    # Segment's own (camelCase) field names
    type: CallType | None = None
    messageId: str | None = Field(default=None, max_length=128)
    userId: Id | None = None
    anonymousId: Id | None = None
    groupId: Id | None = None
    event: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=128)
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None

    _bounded = field_validator("properties", "traits", "context")(bounded_json_field)


class SegmentBatch(BaseModel):
    """A Segment batch call: messages with their own type, plus shared context."""

    model_config = ConfigDict(extra="ignore")

    batch: list[SegmentMessage] = Field(max_length=5000)
    context: dict[str, Any] = Field(default_factory=dict)

    _bounded = field_validator("context")(bounded_json_field)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def account_of(message: SegmentMessage) -> str | None:
    """Return the account external id a message is about."""
    context_traits = message.context.get("traits")
    candidates = [
        message.context.get("groupId"),
        message.groupId,
        message.properties.get("account_id"),
        message.traits.get("account_id"),
        context_traits.get("account_id") if isinstance(context_traits, dict) else None,
    ]
    return next((t for t in map(_text, candidates) if t), None)


def to_event(message: SegmentMessage, call: str, index: int) -> dict[str, Any]:
    """Return the Tenure event of one Segment message; raise InputError naming what is missing."""
    where = f"message {index}" + (f" ({message.messageId})" if message.messageId else "")
    account = account_of(message)
    if account is None:
        raise InputError(
            f"{where}: no account: set context.groupId, groupId, properties.account_id"
            " or traits.account_id"
        )
    if call == "track" and not (message.event or "").strip():
        raise InputError(f"{where}: a track call needs an event name")
    name = message.event if call == "track" else call
    properties = message.traits if call in ("identify", "group") else message.properties
    if call in ("page", "screen") and message.name:
        properties = {**properties, "name": message.name}
    contact = _text(message.userId) or _text(message.anonymousId)
    return {
        "message_id": message.messageId,
        "account_id": account[:128],
        "contact_id": contact[:128] if contact else None,
        "event": name,
        "timestamp": message.timestamp or message.originalTimestamp or clock.now(),
        "properties": properties,
        "source": "segment",
    }


def batch_events(batch: SegmentBatch) -> list[dict[str, Any]]:
    """Return the Tenure events of a batch call (each message carries its type)."""
    events = []
    for index, message in enumerate(batch.batch):
        if message.type is None:
            raise InputError(f"message {index}: a batch message needs a type")
        if batch.context and not message.context:
            message.context = batch.context
        events.append(to_event(message, message.type, index))
    return events
