"""`tenure consume`'s loop: pull event messages, land them in one transaction, then ack.

Each fetch (up to `batch` messages) is decoded, landed with `tenure.events.landing.land_events`
in one app-DB transaction and committed; only then are the messages acknowledged. A crash before
the acks makes the broker redeliver them after its ack wait, and the inbox ignores the message ids
it already holds: every acknowledged event is stored exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.events.broker import EventSource
from tenure.events.envelope import unpack
from tenure.events.identity import Link
from tenure.events.landing import Landed, land_events
from tenure.events.schemas import EventIn
from tenure.logging import get_logger

log = get_logger(__name__)


@dataclass
class ConsumeStats:
    """What a consumer run did."""

    messages: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    seconds: float = 0.0


def _decode(messages: list) -> tuple[list[EventIn], list[Link], list, list]:
    """Return the events and links of messages, the good messages, and those not ours."""
    events: list[EventIn] = []
    links: list[Link] = []
    good, bad = [], []
    for message in messages:
        try:
            these, linked = unpack(message.data)
        except InputError as exc:
            log.error("refusing an event message", error=str(exc), subject=message.subject)
            bad.append(message)
            continue
        events.extend(these)
        links.extend(linked)
        good.append(message)
    return events, links, good, bad


def _land(engine: Engine, settings: Settings, events: list[EventIn], links: list[Link]) -> Landed:
    """Land one fetch's events in one committed transaction."""
    with session_scope(engine) as session:
        return land_events(session, events, links, login_events=settings.health_login_events)


async def _one_fetch(
    subscription: object, engine: Engine, settings: Settings, batch: int, stats: ConsumeStats
) -> Landed | None:
    """Fetch, land and acknowledge one batch; return what landed (None when nothing came)."""
    import nats

    try:
        messages = await subscription.fetch(batch, timeout=1.0)  # type: ignore[attr-defined]
    except (nats.errors.TimeoutError, TimeoutError):  # nothing waiting
        return None
    events, links, good, bad = _decode(messages)
    landed = await asyncio.to_thread(_land, engine, settings, events, links)
    for message in good:  # after the commit: a crash before this redelivers, de-duplicated
        await message.ack()
    for message in bad:
        await message.term()  # never redelivered; logged above with the reason
    stats.messages += len(messages)
    stats.events += len(events)
    stats.stored += landed.result.accepted
    stats.duplicates += landed.result.duplicates
    stats.refused += len(bad)
    return landed


async def consume(
    settings: Settings,
    engine: Engine,
    *,
    stop: asyncio.Event,
    batch: int = 100,
    drain: bool = False,
    on_landed: Callable[[Landed], object] | None = None,
) -> ConsumeStats:
    """Store event messages until stop is set (finishing the batch in hand); return the stats.

    With drain, also stop at the first fetch that finds nothing waiting.
    """
    source = EventSource(settings)
    stats, started = ConsumeStats(), time.monotonic()
    try:
        subscription = await source.pull_subscription()
        while not stop.is_set():
            landed = await _one_fetch(subscription, engine, settings, batch, stats)
            if landed is None and drain:
                break
            if landed is not None and on_landed is not None:
                on_landed(landed)
    finally:
        await source.close()
        stats.seconds = round(time.monotonic() - started, 3)
    return stats
