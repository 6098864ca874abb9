"""The shape of an incoming event, validated with pydantic."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
