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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator

from tenure import clock
from tenure.api.schemas import NON_BLANK
from tenure.errors import InputError
from tenure.events.schemas import bounded_json_field

CallType = Literal["track", "identify", "group", "page", "screen"]


def _whole(value: Any) -> Any:
    """Read a whole float (JSON's 12.0 is an integer to JSON Schema) as an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Segment ids are strings or integers, never booleans, fractions or objects.
Id = Annotated[str, Strict()] | Annotated[int, BeforeValidator(_whole), Strict()]
# Any of these holds the account a message is about: a string with a non-blank character or an
# integer (account_of takes the first one that does).
ACCOUNT_ID = {"anyOf": [{"type": "string", "pattern": NON_BLANK}, {"type": "integer"}]}


def _holding(field: str, inner: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": [field], "properties": {field: inner or ACCOUNT_ID}}


ACCOUNT_SOURCES = {
    "anyOf": [
        _holding("groupId"),
        _holding("context", _holding("groupId")),
        _holding("properties", _holding("account_id")),
        _holding("traits", _holding("account_id")),
        _holding("context", _holding("traits", _holding("account_id"))),
    ]
}
NAMED_TRACK = {
    "anyOf": [
        {"properties": {"type": {"enum": ["identify", "group", "page", "screen"]}}},
        {"required": ["event"], "properties": {"event": {"type": "string", "pattern": NON_BLANK}}},
    ]
}
TIME_HELP = "ISO 8601 date-time from 1900-01-01 up to now (plus the future tolerance)"


def _time_text(value: Any) -> Any:
    """Accept a time only as ISO 8601 text (not as a number of seconds)."""
    if value is None or isinstance(value, str | datetime):
        return value
    raise ValueError("a time must be ISO 8601 text, e.g. 2024-01-31T12:00:00Z")


Time = Annotated[datetime | None, BeforeValidator(_time_text), Field(description=TIME_HELP)]


class SegmentMessage(BaseModel):
    """One Segment call; unknown fields are accepted and ignored, as Segment does."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=ACCOUNT_SOURCES)

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
    timestamp: Time = None
    originalTimestamp: Time = None

    _bounded = field_validator("properties", "traits", "context")(bounded_json_field)


class TrackMessage(SegmentMessage):
    """A Segment track call: it names the event."""

    event: str = Field(min_length=1, max_length=128, pattern=NON_BLANK)


class BatchMessage(SegmentMessage):
    """A message of a batch call: it carries its own type (a track message names its event)."""

    model_config = ConfigDict(json_schema_extra={"allOf": [ACCOUNT_SOURCES, NAMED_TRACK]})

    type: CallType


class SegmentBatch(BaseModel):
    """A Segment batch call: messages with their own type, plus shared context."""

    model_config = ConfigDict(extra="ignore")

    batch: list[BatchMessage] = Field(max_length=5000)
    context: dict[str, Any] = Field(default_factory=dict)

    _bounded = field_validator("context")(bounded_json_field)


def _text(value: Any) -> str | None:
    """Return an id as text: a non-blank string or an integer (never a fraction, bool or object)."""
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
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
