"""The event inbox: record events durably (de-duplicated) and move them to the warehouse.

`record_events` also rolls the new events up for real-time health and queues their accounts for a
score refresh, all in the caller's transaction; the caller hands `touched_accounts` to the health
refresher after it commits (see `tenure.health.refresher`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.db.bulk import insert_new
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.events.identity import release_held
from tenure.events.models import InboxEvent
from tenure.events.schemas import EventIn
from tenure.health.realtime import queue_refresh, roll_up
from tenure.logging import get_logger
from tenure.privacy.minimise import minimised
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import Warehouse

SYNC_BATCH = 50_000
INBOX_COLUMNS = (
    "message_id",
    "account_external_id",
    "account_id",
    "contact_external_id",
    "contact_email",
    "name",
    "ts",
    "properties",
    "source",
    "received_at",
)
log = get_logger(__name__)


@dataclass(frozen=True)
class RecordResult:
    """What recording a batch did: new and already recorded events, accounts whose usage moved."""

    accepted: int
    duplicates: int
    touched_accounts: frozenset[int] = frozenset()
    erased: int = 0  # dropped: the person or account was erased (tenure.privacy.erasure)


@dataclass(frozen=True)
class SyncResult:
    """What one move of the inbox into the warehouse did."""

    moved: int
    already_in_warehouse: int
    waiting_for_account: int
    expired_unknown_account: int = 0


def event_problems(
    item: EventIn | Mapping[str, Any], context: dict[str, Any] | None = None
) -> tuple[EventIn | None, list[str]]:
    """Validate one event; return it, or None and what is wrong with it (fields named).

    context is pydantic's validation context (see `EventIn`).
    """
    if isinstance(item, EventIn):
        return item, []
    try:
        return EventIn.model_validate(item, context=context), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            problems.append(f"field {where}: {error['msg']}" if where else error["msg"])
        return None, problems
    except InputError as exc:  # a bounded JSON field (tenure.events.schemas.bounded_json)
        return None, [f"field {exc}"]


def parse_events(batch: Iterable[EventIn | Mapping[str, Any]]) -> list[EventIn]:
    """Validate a batch; raise InputError naming each bad item and field."""
    events, problems = [], []
    for index, item in enumerate(batch):
        event, wrong = event_problems(item)
        if event is not None:
            events.append(event)
        problems.extend(f"item {index}, {problem}" for problem in wrong)
    if problems:
        raise InputError("invalid events, none recorded: " + "; ".join(problems[:20]))
    return events


def record_events(
    batch: Iterable[EventIn | Mapping[str, Any]],
    *,
    db_session: Session,
    login_events: Collection[str],
) -> RecordResult:
    """Store a batch in the inbox (ignoring known message_ids), roll it up, queue its refreshes.

    login_events are the event names that count as logins (`Settings.health_login_events`).
    Events without an account_id are held (`tenure.events.identity`). The caller commits, then
    refreshes the result's touched_accounts.
    """
    events, erased = _without_erased(db_session, parse_events(batch))
    if not events:
        return RecordResult(accepted=0, duplicates=0, erased=erased)
    external_ids = {e.account_id for e in events if e.account_id}
    account_ids = dict(
        db_session.execute(
            select(Account.external_id, Account.id).where(Account.external_id.in_(external_ids))
        ).all()
    )
    received_at = clock.now()
    rows: dict[str, dict[str, Any]] = {}
    for e in events:
        rows.setdefault(e.resolved_message_id(), _inbox_row(e, account_ids, received_at))
    new_ids = _insert_ignoring_duplicates(db_session, rows)
    new_rows = [rows[message_id] for message_id in new_ids]
    touched = roll_up(new_rows, db_session=db_session, login_events=login_events)
    queue_refresh(db_session=db_session, account_ids=touched)
    return RecordResult(
        accepted=len(new_ids),
        duplicates=len(events) - len(new_ids),
        touched_accounts=frozenset(touched),
        erased=erased,
    )


def _without_erased(session: Session, events: list[EventIn]) -> tuple[list[EventIn], int]:
    """Drop the events of erased people or accounts; return the rest and how many were dropped."""
    from tenure.privacy.erasure import erased_digests
    from tenure.privacy.subjects import digest

    keys = {v for e in events for v in (e.contact_id, e.contact_email, e.account_id) if v}
    if not keys or not (erased := erased_digests(session, list(keys))):
        return events, 0

    def gone(e: EventIn) -> bool:
        return any(v and digest(v) in erased for v in (e.contact_id, e.contact_email, e.account_id))

    kept = [e for e in events if not gone(e)]
    return kept, len(events) - len(kept)


def _inbox_row(event: EventIn, account_ids: dict[str, int], received_at: Any) -> dict[str, Any]:
    return {
        "message_id": event.resolved_message_id(),
        "account_external_id": event.account_id,
        "account_id": account_ids.get(event.account_id) if event.account_id else None,
        "contact_external_id": event.contact_id,
        "contact_email": event.contact_email,
        "name": event.event,
        "ts": event.timestamp,
        "properties": event.properties,
        "source": event.source,
        "received_at": received_at,
    }


def _insert_ignoring_duplicates(session: Session, rows: dict[str, dict[str, Any]]) -> list[str]:
    """Insert rows (by message_id), skipping message_ids already stored; return the new ones.

    One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per 1,000 rows, bound column by
    column (`tenure.db.bulk.insert_new`), not the ORM's per-row bookkeeping.
    """
    if not rows:
        return []
    columns = {name: [row[name] for row in rows.values()] for name in INBOX_COLUMNS}
    return insert_new(session.connection(), InboxEvent.__table__, columns, key="message_id")


def _unsynced_batch(session: Session, after_id: int) -> pd.DataFrame:
    query = (
        select(
            InboxEvent.id,
            InboxEvent.message_id,
            Account.id.label("account_id"),
            InboxEvent.account_external_id,
            InboxEvent.contact_external_id,
            InboxEvent.name,
            InboxEvent.ts,
            InboxEvent.properties,
            InboxEvent.source,
            InboxEvent.received_at,
        )
        .join(Account, Account.external_id == InboxEvent.account_external_id)
        .where(InboxEvent.synced_at.is_(None), InboxEvent.id > after_id)
        .order_by(InboxEvent.id)
        .limit(SYNC_BATCH)
    )
    frame = pd.DataFrame(session.execute(query).mappings().all())
    if not frame.empty:
        frame["properties"] = frame["properties"].map(lambda p: json.dumps(minimised(p)))
    return frame


def _append(warehouse: Warehouse, frame: pd.DataFrame) -> int:
    con = warehouse.con
    con.register("inbox_batch", frame)
    before = con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()[0]
    con.execute(
        f"INSERT INTO {EVENTS} SELECT b.message_id, CAST(b.account_id AS INTEGER),"
        " b.account_external_id, b.contact_external_id, b.name, CAST(b.ts AS TIMESTAMPTZ),"
        " CAST(b.properties AS JSON), b.source, CAST(b.received_at AS TIMESTAMPTZ), NULL"
        f" FROM inbox_batch b ANTI JOIN {EVENTS} e ON e.message_id = b.message_id"
    )
    con.unregister("inbox_batch")
    return con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()[0] - before


def sync_inbox(
    *,
    engine: Engine,
    warehouse: Warehouse,
    unknown_account_days: int | None = None,
    login_events: Collection[str] = (),
) -> SyncResult:
    """Move every inbox event whose account is known into the warehouse, idempotently.

    Held events whose user now resolves (a contacts import, a group call) are released first
    (`tenure.events.identity.release_held`; login_events as in `record_events`). With
    unknown_account_days, events whose account is still unknown after that many days (held ones
    included) are then dropped (`expire_unknown_account_events`).
    """
    with session_scope(engine) as session:
        release_held(session, login_events=login_events)
    expired = 0
    if unknown_account_days is not None:
        expired = expire_unknown_account_events(
            engine=engine, older_than=timedelta(days=unknown_account_days)
        )
    moved = skipped = 0
    after_id = 0
    while True:
        with session_scope(engine) as session:
            frame = _unsynced_batch(session, after_id)
        if frame.empty:
            break
        new = _append(warehouse, frame)
        moved, skipped = moved + new, skipped + len(frame) - new
        with session_scope(engine) as session:
            ids = frame["id"].tolist()
            for start in range(0, len(ids), 1000):
                session.execute(
                    update(InboxEvent)
                    .where(InboxEvent.id.in_(ids[start : start + 1000]))
                    .values(synced_at=clock.now())
                )
        after_id = int(frame["id"].max())
    with session_scope(engine) as session:
        waiting = session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.synced_at.is_(None))
        )
    return SyncResult(
        moved=moved,
        already_in_warehouse=skipped,
        waiting_for_account=waiting,
        expired_unknown_account=expired,
    )


def expire_unknown_account_events(*, engine: Engine, older_than: timedelta) -> int:
    """Drop unsynced inbox events received over older_than ago whose account is still unknown."""
    cutoff = clock.now() - older_than
    known = select(Account.id).where(Account.external_id == InboxEvent.account_external_id)
    stale = delete(InboxEvent).where(
        InboxEvent.synced_at.is_(None), InboxEvent.received_at < cutoff, ~known.exists()
    )
    with session_scope(engine) as session:
        expired = session.execute(stale).rowcount or 0
    if expired:
        log.warning("inbox events for unknown accounts expired", events=expired, cutoff=cutoff)
    return expired
