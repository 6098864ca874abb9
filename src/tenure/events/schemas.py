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
)

from tenure import clock
from tenure.config import Settings

# The import's timestamp rules (tenure.ingest.validate): from 1900-01-01 up to now plus the
# future tolerance (a validation context's `future_tolerance_seconds`, else the setting's default).
EARLIEST_TIMESTAMP = datetime(1900, 1, 1, tzinfo=UTC)
DEFAULT_FUTURE_TOLERANCE = Settings.model_fields["future_tolerance_seconds"].default


class EventIn(BaseModel):
    """One product-usage event as a source hands it over."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    message_id: str | None = Field(default=None, max_length=128)
    account_id: str = Field(min_length=1, max_length=128, description="the account's external id")
    contact_id: str | None = Field(default=None, max_length=128)
    event: str = Field(min_length=1, max_length=128)
    timestamp: datetime
    properties: dict[str, Any] = Field(default_factory=dict)
    source: str = Field(default="api", max_length=32)

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
                self.account_id,
                self.contact_id or "",
                self.event,
                str(int(self.timestamp.timestamp() * 1000)),
                json.dumps(self.properties, sort_keys=True, separators=(",", ":")),
            ]
        )
        return "gen-" + hashlib.md5(payload.encode("utf-8")).hexdigest()
