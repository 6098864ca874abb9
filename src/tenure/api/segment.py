"""Map Segment's track/identify/group/alias/page/screen payloads onto Tenure events and links.

The account (external id) a message names explicitly is the first of `context.groupId`,
`groupId` (group calls), `properties.account_id`, `traits.account_id`,
`context.traits.account_id`. Without one the event is held until its user resolves
(`tenure.events.identity`): the contact is `userId`, else `anonymousId`, and its email is
`traits.email`, else `context.traits.email`. Event names: `event` for track calls,
"page_viewed" / "screen_viewed" for page and screen (the page's `name` and `category` added to
its properties), and the call type for identify, group and alias. Properties are `properties`
(track, page, screen), `traits` (identify, group) or `{"previous_id": …}` (alias). The time is
`timestamp`, else `originalTimestamp`, else the time the API received the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
)

from tenure import clock
from tenure.api.schemas import NON_BLANK
from tenure.errors import InputError
from tenure.events.identity import Link
from tenure.events.schemas import (
    DEFAULT_FUTURE_TOLERANCE,
    EARLIEST_TIMESTAMP,
    EventIn,
    bounded_json,
    bounded_json_field,
)
from tenure.events.service import event_problems

CallType = Literal["track", "identify", "group", "alias", "page", "screen"]
EVENT_NAMES = {"page": "page_viewed", "screen": "screen_viewed"}


def _whole(value: Any) -> Any:
    """Read a whole float (JSON's 12.0 is an integer to JSON Schema) as an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Segment ids are strings or integers, never booleans, fractions or objects.
Id = Annotated[str, Strict()] | Annotated[int, BeforeValidator(_whole), Strict()]
# An id that names someone: a string with a non-blank character, or an integer.
NamingId = (
    Annotated[str, Strict(), Field(pattern=NON_BLANK)]
    | Annotated[int, BeforeValidator(_whole), Strict()]
)
NAMING_ID = {"anyOf": [{"type": "string", "pattern": NON_BLANK}, {"type": "integer"}]}


def _holding(field: str, inner: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": [field], "properties": {field: inner or NAMING_ID}}


# A message names its user or its account (any one of these; the first account wins, else the
# user's account is resolved or the event is held). A message naming neither is refused.
NAMES_SOMEONE = {
    "anyOf": [
        _holding("userId"),
        _holding("anonymousId"),
        _holding("groupId"),
        _holding("context", _holding("groupId")),
        _holding("properties", _holding("account_id")),
        _holding("traits", _holding("account_id")),
        _holding("context", _holding("traits", _holding("account_id"))),
    ]
}
TIME_HELP = "ISO 8601 date-time from 1900-01-01 up to now (plus the future tolerance)"
BATCH_MESSAGE_HELP = (
    "One Segment message with its own `type`, shaped as the body of the single call of that"
    " type (see SegmentMessage, TrackMessage, AliasMessage). Each message is checked on its own:"
    " one that is not valid is listed in the answer's `rejected` (index, messageId, reason) and"
    " the others are stored. A message naming only its user (`userId` or `anonymousId`) is"
    " valid: its account is resolved from the user, or the event is held until it is."
)
BATCH_MESSAGE_EXAMPLE = {"type": "identify", "userId": "u-42", "traits": {"email": "a@b.co"}}


def _time_text(value: Any) -> Any:
    """Accept a time only as ISO 8601 text (not as a number of seconds)."""
    if value is None or isinstance(value, str | datetime):
        return value
    raise ValueError("a time must be ISO 8601 text, e.g. 2024-01-31T12:00:00Z")


Time = Annotated[datetime | None, BeforeValidator(_time_text), Field(description=TIME_HELP)]


class SegmentMessage(BaseModel):
    """One Segment call; unknown fields are accepted and ignored, as Segment does."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=NAMES_SOMEONE)

    # Segment's own (camelCase) field names
    type: CallType | None = None
    messageId: str | None = Field(default=None, max_length=128)
    userId: Id | None = None
    anonymousId: Id | None = None
    previousId: Id | None = None
    groupId: Id | None = None
    event: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=128)
    category: str | None = Field(default=None, max_length=128)
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: Time = None
    originalTimestamp: Time = None

    _bounded = field_validator("properties", "traits", "context")(bounded_json_field)


class TrackMessage(SegmentMessage):
    """A Segment track call: it names the event."""

    event: str = Field(min_length=1, max_length=128, pattern=NON_BLANK)


class AliasMessage(SegmentMessage):
    """A Segment alias call: it links the user's `previousId` to its `userId`."""

    userId: NamingId
    previousId: NamingId


class SegmentBatch(BaseModel):
    """A Segment batch call: messages with their own type, plus shared context.

    Messages are validated one by one (`read_messages`), so one bad message does not fail the
    others; the batch itself must be an object with a `batch` list of objects.
    """

    model_config = ConfigDict(extra="ignore")

    batch: list[
        Annotated[
            dict[str, Any],
            Field(description=BATCH_MESSAGE_HELP, examples=[BATCH_MESSAGE_EXAMPLE]),
        ]
    ] = Field(max_length=5000)
    context: dict[str, Any] = Field(default_factory=dict)

    _bounded = field_validator("context")(bounded_json_field)


@dataclass(frozen=True)
class Rejected:
    """A batch message that was not stored, and why."""

    index: int
    message_id: str | None
    reason: str


@dataclass
class Intake:
    """The valid events and identity links of a request, and the messages rejected."""

    events: list[EventIn] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    event_links: list[list[Link]] = field(default_factory=list)  # per event, as sent

    def linked_users(self) -> set[str]:
        """Return the user ids the intake's group and alias calls link."""
        ids = {link.user_id for link in self.links}
        ids.update(link.alias_of for link in self.links if link.alias_of)
        return ids


def _text(value: Any) -> str | None:
    """Return an id as text: a non-blank string or an integer (never a fraction, bool or object)."""
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text[:128] if text else None


def _context_traits(message: SegmentMessage) -> dict[str, Any]:
    traits = message.context.get("traits")
    return traits if isinstance(traits, dict) else {}


def account_of(message: SegmentMessage) -> str | None:
    """Return the account external id a message names explicitly, if any."""
    candidates = [
        message.context.get("groupId"),
        message.groupId,
        message.properties.get("account_id"),
        message.traits.get("account_id"),
        _context_traits(message).get("account_id"),
    ]
    return next((t for t in map(_text, candidates) if t), None)


def email_of(message: SegmentMessage) -> str | None:
    """Return the user's email: `traits.email` (not of a group), else `context.traits.email`."""
    own = message.traits.get("email") if message.type != "group" else None
    email = _text(own) or _text(_context_traits(message).get("email"))
    return email[:320] if email else None


def _properties(message: SegmentMessage, call: str) -> dict[str, Any]:
    if call in ("identify", "group"):
        return message.traits
    if call == "alias":
        return {"previous_id": _text(message.previousId)}
    extra = {"name": message.name, "category": message.category}
    return {**message.properties, **{k: v for k, v in extra.items() if v}}


def to_event(message: SegmentMessage, call: str, where: str) -> dict[str, Any]:
    """Return the Tenure event of one Segment message; raise InputError naming what is missing."""
    if call == "track" and not (message.event or "").strip():
        raise InputError(f"{where}: a track call needs an event name")
    user = _text(message.userId) or _text(message.anonymousId)
    if call == "alias" and not (_text(message.userId) and _text(message.previousId)):
        raise InputError(f"{where}: an alias call needs userId and previousId")
    account = (_text(message.groupId) if call == "group" else None) or account_of(message)
    if account is None and user is None:
        raise InputError(f"{where}: no account and no user: set userId, anonymousId or groupId")
    return {
        "message_id": message.messageId,
        "account_id": account,
        "contact_id": user,
        "contact_email": email_of(message),
        "event": message.event if call == "track" else EVENT_NAMES.get(call, call),
        "timestamp": message.timestamp or message.originalTimestamp or clock.now(),
        "properties": _properties(message, call),
        "source": "segment",
    }


def link_of(message: SegmentMessage, call: str) -> Link | None:
    """Return the identity link a group or alias call makes, if it makes one."""
    user = _text(message.userId) or _text(message.anonymousId)
    if call == "group" and user and _text(message.groupId):
        return Link(user, account_external_id=_text(message.groupId), email=email_of(message))
    if call == "alias":
        return Link(_text(message.userId) or "", alias_of=_text(message.previousId))
    return None


def _unpadded(value: str | None) -> bool:
    """Return True if EventIn's whitespace stripping leaves value as it is."""
    return value is None or value == value.strip()


def latest_accepted() -> datetime:
    """Return the latest event time EventIn accepts now (now plus the default tolerance)."""
    return clock.now() + timedelta(seconds=DEFAULT_FUTURE_TOLERANCE)


def _utc_in_range(stamp: datetime, latest: datetime) -> datetime | None:
    """Return the time in UTC (naive read as UTC) if EventIn accepts it as is, else None."""
    try:
        utc = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    except OverflowError:
        return None
    return utc if EARLIEST_TIMESTAMP <= utc <= latest else None


EVENT_FIELDS = frozenset(EventIn.model_fields)


def _built(values: dict[str, Any]) -> EventIn:
    """Return an EventIn holding values as they are: what `model_construct` does, minus its loop.

    values must name every field; the caller checked them as EventIn's validation would.
    """
    event = EventIn.__new__(EventIn)
    object.__setattr__(event, "__dict__", values)
    object.__setattr__(event, "__pydantic_fields_set__", set(EVENT_FIELDS))
    object.__setattr__(event, "__pydantic_extra__", None)
    object.__setattr__(event, "__pydantic_private__", None)
    return event


def checked_event(values: dict[str, Any], call: str, latest: datetime) -> EventIn | None:
    """Return the event built without a second validation, or None when EventIn must judge it.

    The Segment message was validated already and `to_event` gave ids as trimmed text of at
    most 128 characters, a non-blank name and an account or a user; what EventIn would still
    change or refuse (padded text, a time out of range, page/screen properties over the bounds)
    goes to EventIn for its exact reason. latest is `latest_accepted()` read before the message
    (a time at or before it is one EventIn accepts now too).
    """
    message_id, name = values["message_id"], values["event"]
    if not (_unpadded(message_id) and isinstance(name, str) and name and _unpadded(name)):
        return None
    timestamp = _utc_in_range(values["timestamp"], latest)
    if timestamp is None:
        return None
    if call in ("page", "screen"):  # name and category joined the bounded properties
        try:
            bounded_json(values["properties"], "properties")
        except InputError:
            return None
    return _built({**values, "timestamp": timestamp})


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def read_message(
    raw: dict[str, Any],
    call: str | None,
    index: int,
    shared: dict[str, Any],
    latest: datetime | None = None,
) -> tuple[EventIn, list[Link]]:
    """Return one message's event and links; raise InputError saying what is wrong with it."""
    try:
        message = SegmentMessage.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_validation_reason(exc)) from None
    call = call or message.type
    where = f"message {index}" + (f" ({message.messageId})" if message.messageId else "")
    if call is None:
        raise InputError(f"{where}: a batch message needs a type")
    message.type = call  # type: ignore[assignment]
    if shared and not message.context:
        message.context = shared
    values = to_event(message, call, where)
    event = checked_event(values, call, latest or latest_accepted())
    if event is None:  # validate as EventIn, for its exact reasons
        # properties/traits were bounded as the message's; page and screen add name and category
        checked = {"json_bounded": call not in ("page", "screen")}
        event, problems = event_problems(values, checked)
        if event is None:
            raise InputError(f"{where}: " + "; ".join(problems))
    link = link_of(message, call)
    if link is not None and call == "alias":  # either id may be the one Tenure knows
        back = Link(link.alias_of or "", alias_of=link.user_id)
        return event, [link, back]
    return event, [link] if link is not None else []


def read_messages(
    messages: list[dict[str, Any]], *, call: str | None = None, shared: dict[str, Any] | None = None
) -> Intake:
    """Read the messages of one request; bad ones are rejected with their reason, not raised."""
    intake, latest = Intake(), latest_accepted()
    for index, raw in enumerate(messages):
        try:
            event, links = read_message(raw, call, index, shared or {}, latest)
        except InputError as exc:
            message_id = raw.get("messageId")
            identifier = str(message_id)[:128] if message_id is not None else None
            intake.rejected.append(Rejected(index, identifier, str(exc)))
            continue
        intake.events.append(event)
        intake.links.extend(links)
        intake.event_links.append(links)
    return intake
