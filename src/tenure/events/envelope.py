"""The broker's message format: validated events (with their identity links) as JSON.

A message is `{"v": 1, "items": [{"e": event, "l": [link, ...]}, ...]}`: one item per event
(packing "event", broker de-dup id = the event's message id) or every event of a request cut
into messages under the broker's payload limit (packing "request", de-dup id = a hash of the
message ids it carries). Events are already validated and carry their resolved message id and
time, so a redelivered message lands the same rows (the inbox ignores known message ids).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from tenure.errors import InputError
from tenure.events.identity import Link
from tenure.events.schemas import EventIn

VERSION = 1
OVERHEAD = 64  # bytes of the wrapper around the items


def item_of(event: EventIn, links: list[Link]) -> dict[str, Any]:
    """Return one event and its links as a JSON-ready item (message id and time resolved)."""
    body = event.model_dump(mode="json", exclude_none=True)
    body["message_id"] = event.resolved_message_id()
    return {"e": body, "l": [asdict(link) for link in links]} if links else {"e": body}


def _encode(items: list[str]) -> bytes:
    return ('{"v":1,"items":[' + ",".join(items) + "]}").encode("utf-8")


def _batch_id(message_ids: list[str]) -> str:
    return "req-" + hashlib.sha256("\n".join(message_ids).encode("utf-8")).hexdigest()


def pack(
    events: list[EventIn], event_links: list[list[Link]], *, per_event: bool, max_bytes: int
) -> list[tuple[str, bytes]]:
    """Return (de-dup id, payload) messages carrying the events, each at most max_bytes."""
    messages: list[tuple[str, bytes]] = []
    items: list[str] = []
    ids: list[str] = []
    size = OVERHEAD
    for event, links in zip(events, event_links, strict=True):
        text = json.dumps(item_of(event, links), separators=(",", ":"), ensure_ascii=False)
        message_id = event.resolved_message_id()
        if per_event:
            messages.append((message_id, _encode([text])))
            continue
        weight = len(text.encode("utf-8")) + 1
        if items and size + weight > max_bytes:
            messages.append((_batch_id(ids), _encode(items)))
            items, ids, size = [], [], OVERHEAD
        items.append(text)
        ids.append(message_id)
        size += weight
    if items:
        messages.append((_batch_id(ids), _encode(items)))
    return messages


def unpack(payload: bytes) -> tuple[list[EventIn], list[Link]]:
    """Return the events and links of one message; raise InputError if it is not ours."""
    try:
        body = json.loads(payload)
        if body.get("v") != VERSION:
            raise InputError(f"unknown event message version {body.get('v')!r}")
        events, links = [], []
        for item in body["items"]:
            # bounded and time-checked by the API already; a late delivery is not "future"
            events.append(EventIn.model_validate(item["e"], context={"json_bounded": True}))
            links.extend(Link(**link) for link in item.get("l", ()))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a Tenure event message: {exc}") from None
    return events, links
