"""Land tracked events in the app DB: links, inbox, held releases, in the caller's transaction.

The one storage step of the tracking intake, shared by the embedded path (`/v1/batch` writes it
itself) and the broker path (`tenure consume` writes what the API published). The caller
commits, then hands `touched_accounts` to the health refresher and calls `notify_landed`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.events.identity import Link, Released, link_identities, release_held
from tenure.events.models import InboxEvent
from tenure.events.schemas import EventIn
from tenure.events.service import RecordResult, record_events
from tenure.loyalty.realtime import earn_on_arrival, reverse_on_arrival
from tenure.notifications import Notification, get_bus

CHUNK = 1000  # ids per IN list
REVERSES = "reverses_message_id"  # an event with this property reverses that event's points


@dataclass(frozen=True)
class Landed:
    """What landing a batch did, and its events per known account (for notifications)."""

    result: RecordResult
    released: Released
    held: int = 0
    counts: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def touched_accounts(self) -> frozenset[int]:
        """Return the accounts whose usage moved: new events and released ones."""
        return self.result.touched_accounts | self.released.touched_accounts


def linked_users(links: Iterable[Link]) -> set[str]:
    """Return the user ids that group and alias links name."""
    ids: set[str] = set()
    for link in links:
        ids.add(link.user_id)
        if link.alias_of:
            ids.add(link.alias_of)
    return ids


def land_events(
    session: Session, events: list[EventIn], links: list[Link], *, login_events: Collection[str]
) -> Landed:
    """Store links, events (de-duplicated on message_id), release held events, earn points."""
    link_identities(session, links)
    result = record_events(events, db_session=session, login_events=login_events)
    message_ids = [e.resolved_message_id() for e in events]
    held_ids = [m for m, e in zip(message_ids, events, strict=True) if not e.account_id]
    released = release_held(
        session, login_events=login_events, user_ids=linked_users(links), message_ids=held_ids
    )
    counts, held = _landed(session, message_ids)
    earn_on_arrival(session, message_ids)
    reverse_on_arrival(session, [str(r) for e in events if (r := e.properties.get(REVERSES))])
    return Landed(result, released, held, counts)


def _landed(session: Session, message_ids: list[str]) -> tuple[dict[tuple[str, int], int], int]:
    """Return the batch's events per known account, and how many of them are held."""
    counts: dict[tuple[str, int], int] = {}
    held = 0
    for start in range(0, len(message_ids), CHUNK):
        query = (
            sa.select(InboxEvent.account_external_id, InboxEvent.account_id, sa.func.count())
            .where(InboxEvent.message_id.in_(message_ids[start : start + CHUNK]))
            .group_by(InboxEvent.account_external_id, InboxEvent.account_id)
        )
        for external_id, account_id, count in session.execute(query).all():
            if external_id is None:
                held += count
            elif account_id is not None:
                counts[external_id, account_id] = counts.get((external_id, account_id), 0) + count
    return counts, held


def notify_landed(landed: Landed) -> None:
    """Publish one events_recorded notification per known account of the batch."""
    bus = get_bus()
    for (external_id, account_id), count in landed.counts.items():
        payload = {"external_id": external_id, "count": count}
        bus.publish(Notification("events_recorded", account_id, payload))
