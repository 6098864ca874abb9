"""The shape of an incoming event, validated with pydantic."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from tenure import clock
from tenure.config import Settings
from tenure.errors import InputError

# The import's timestamp rules (tenure.ingest.validate): from 1900-01-01 up to now plus the
# future tolerance (a validation context's `future_tolerance_seconds`, else the setting's default).
EARLIEST_TIMESTAMP = datetime(1900, 1, 1, tzinfo=UTC)
DEFAULT_FUTURE_TOLERANCE = Settings.model_fields["future_tolerance_seconds"].default

MAX_JSON_DEPTH = 32  # levels of nested objects and arrays in properties, traits or context
MAX_JSON_BYTES = 32 * 1024  # their size as compact JSON text


def _depth_over(value: Any, limit: int) -> bool:
    """Return True if value nests objects/arrays more than limit levels deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _surely_small(value: dict[str, Any]) -> bool:
    """Return True if value is flat and its JSON text is certainly under MAX_JSON_BYTES.

    An upper bound without serializing: 12 bytes per character (an escaped astral character),
    32 per number of at most 18 digits, true, false or null; anything nested is not "surely".
    """
    bound = 2
    for key, item in value.items():
        short_number = isinstance(item, int) and -(10**18) < item < 10**18
        if isinstance(item, str):
            bound += 12 * len(item) + 2
        elif item is None or isinstance(item, bool | float) or short_number:
            bound += 32
        else:
            return False
        bound += 12 * len(str(key)) + 4
    return bound <= MAX_JSON_BYTES


def bounded_json(value: dict[str, Any], field: str) -> dict[str, Any]:
    """Return value if it nests and weighs little enough to store and serve; else raise InputError.

    InputError (not ValueError) leaves pydantic unwrapped, so the API answers 400 naming the field.
    """
    if not value or _surely_small(value):  # the common case, without serializing it
        return value
    if _depth_over(value, MAX_JSON_DEPTH):
        raise InputError(
            f"{field}: nested more than {MAX_JSON_DEPTH} levels deep (objects or arrays);"
            " flatten it before sending"
        )
    size = len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))
    if size > MAX_JSON_BYTES:
        raise InputError(
            f"{field}: {size:,} bytes as JSON; at most {MAX_JSON_BYTES:,} are accepted"
        )
    return value


def bounded_json_field(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """Field validator: bound a JSON object field, naming it (and the message, when known).

    A validation context with `json_bounded` True says the caller bounded it already.
    """
    if isinstance(info.context, dict) and info.context.get("json_bounded"):
        return value
    message_id = (info.data or {}).get("messageId") or (info.data or {}).get("message_id")
    where = f"{info.field_name} of message {message_id}" if message_id else str(info.field_name)
    return bounded_json(value, where)


class EventIn(BaseModel):
    """One product-usage event as a source hands it over."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    message_id: str | None = Field(default=None, max_length=128)
    account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="the account's external id; without it the event is held until its"
        " contact (contact_id, else contact_email) resolves to an account",
    )
    contact_id: str | None = Field(default=None, max_length=128)
    contact_email: str | None = Field(default=None, max_length=320)
    event: str = Field(min_length=1, max_length=128)
    timestamp: datetime
    properties: dict[str, Any] = Field(default_factory=dict)
    source: str = Field(default="api", max_length=32)

    _bounded = field_validator("properties")(bounded_json_field)

    @model_validator(mode="after")
    def _someone(self) -> EventIn:
        """Require an account or a contact to resolve one from."""
        if self.account_id is None and self.contact_id is None:
            raise ValueError("an event needs an account_id or a contact_id")
        return self

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        """Treat naive times as UTC and store every time in UTC."""
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("timestamp", mode="wrap")
    @classmethod
    def _within_import_range(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> datetime:
        """Refuse times before 1900 or past now + the future tolerance, as imports do."""
        try:
            stamp: datetime = handler(value)
        except OverflowError:  # year 1 or 9999 shifted out of range by its UTC offset
            raise ValueError("timestamp out of range (1900-01-01 to now)") from None
        if stamp < EARLIEST_TIMESTAMP:
            raise ValueError(f"timestamp out of range: {stamp.isoformat()} is before 1900-01-01")
        context = info.context if isinstance(info.context, dict) else {}
        tolerance = context.get("future_tolerance_seconds", DEFAULT_FUTURE_TOLERANCE)
        if stamp > clock.now() + timedelta(seconds=tolerance):
            raise ValueError(f"timestamp in the future: {stamp.isoformat()}")
        return stamp

    def resolved_message_id(self) -> str:
        """Return message_id, or a deterministic one derived from the event's content."""
        if self.message_id:
            return self.message_id
        payload = "\x1f".join(
            [
                self.account_id or "",
                self.contact_id or "",
                self.event,
                str(int(self.timestamp.timestamp() * 1000)),
                json.dumps(self.properties, sort_keys=True, separators=(",", ":")),
            ]
        )
        return "gen-" + hashlib.md5(payload.encode("utf-8")).hexdigest()
