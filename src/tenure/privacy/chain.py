"""The audit log's hash chain: canonical JSON of an entry and its SHA-256 link (pure)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

# The "previous hash" of the very first entry of a chain.
GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Return value as canonical JSON: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def normalised_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Return detail as it reads back from the JSON column (so its hash stays stable)."""
    return json.loads(canonical_json(detail or {}))


def _timestamp(at: datetime) -> str:
    """Return an aware time as UTC ISO 8601 with microseconds."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_payload(
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    ip: str | None,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    """Return the fields of an audit entry that its hash covers."""
    return {
        "at": _timestamp(at),
        "actor": actor,
        "action": action,
        "target": target,
        "ip": ip,
        "detail": normalised_detail(detail),
    }


def link_hash(previous: str, payload: dict[str, Any]) -> str:
    """Return SHA-256 hex of the previous entry's hash followed by this entry's canonical JSON."""
    data = previous.encode("ascii") + canonical_json(payload).encode("utf-8")
    return hashlib.sha256(data).hexdigest()
