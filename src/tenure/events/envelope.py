"""The broker's message format: validated events (with their identity links) as JSON.

A message is `{"v": 1, "events": [event, ...], "links": [link, ...]}`: one event and its links
(packing "event", broker de-dup id = the event's message id) or every event of a request, cut
into messages under the broker's payload limit (packing "request", de-dup id = a hash of the
message ids it carries). Events are already validated and carry their resolved message id and
time, so a redelivered message lands the same rows (the inbox ignores known message ids); the
consumer links every link of a fetch before it records the events, as one request does.
Events are serialized and read back by pydantic in one call per message, not one per event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from pydantic import TypeAdapter

from tenure.errors import InputError
from tenure.events.identity import Link
from tenure.events.schemas import EventIn

VERSION = 1


EVENTS = TypeAdapter(list[EventIn])


def _with_ids(events: list[EventIn]) -> list[EventIn]:
    """Return events whose message id is set (derived from the content where it is not)."""
    return [
        e if e.message_id else e.model_copy(update={"message_id": e.resolved_message_id()})
        for e in events
    ]


def _message(events: list[EventIn], links: list[Link]) -> bytes:
    encoded = EVENTS.dump_json(events, exclude_none=True).decode("utf-8")
    linked = json.dumps([asdict(link) for link in links], separators=(",", ":"))
    return f'{{"v":{VERSION},"events":{encoded},"links":{linked}}}'.encode()


def _batch_id(events: list[EventIn]) -> str:
    ids = "\n".join(e.message_id or "" for e in events)
    return "req-" + hashlib.sha256(ids.encode("utf-8")).hexdigest()


def _cut(events: list[EventIn], links: list[Link], max_bytes: int) -> list[tuple[str, bytes]]:
    """Return one message of events, or halves of them while a message is over max_bytes."""
    payload = _message(events, links)
    if len(payload) <= max_bytes or len(events) == 1:
        return [(_batch_id(events), payload)]
    half = len(events) // 2
    return _cut(events[:half], links, max_bytes) + _cut(events[half:], links, max_bytes)


def pack(
    events: list[EventIn], event_links: list[list[Link]], *, per_event: bool, max_bytes: int
) -> list[tuple[str, bytes]]:
    """Return (de-dup id, payload) messages carrying the events, each at most max_bytes."""
    events = _with_ids(events)
    if per_event:
        return [
            (e.message_id or "", _message([e], links))
            for e, links in zip(events, event_links, strict=True)
        ]
    links = [link for these in event_links for link in these]
    return _cut(events, links, max_bytes) if events else []


def unpack(payload: bytes) -> tuple[list[EventIn], list[Link]]:
    """Return the events and links of one message; raise InputError if it is not ours."""
    try:
        body = json.loads(payload)
        if body.get("v") != VERSION:
            raise InputError(f"unknown event message version {body.get('v')!r}")
        # bounded and time-checked by the API already; a late delivery is not "future"
        events = EVENTS.validate_python(body["events"], context={"json_bounded": True})
        links = [Link(**link) for link in body["links"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a Tenure event message: {exc}") from None
    return events, links
