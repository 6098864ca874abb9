"""The append-only, hash-chained audit log: append, verify, export, prune."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenure import clock
from tenure.auth.models import AuditChainHead, AuditEntry
from tenure.privacy.chain import GENESIS, entry_payload, link_hash, normalised_detail

HEAD_ID = 1
PRUNE_ACTION = "audit_prune"
BATCH = 5_000


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the audit chain found: intact, or the first broken entry and why."""

    intact: bool
    entries: int
    first_id: int | None
    last_id: int | None
    pruned_through: int | None = None
    broken_id: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return asdict(self)


def _ensure_head(session: Session | Connection) -> None:
    """Create the chain's head row if it is missing (tables made from metadata, not migrations)."""
    connection = session if isinstance(session, Connection) else session.connection()
    maker = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    row = {"id": HEAD_ID, "length": 0, "last_id": None, "last_hash": GENESIS}
    session.execute(maker(AuditChainHead).values(**row).on_conflict_do_nothing())


_HEAD = AuditChainHead.__table__
BUMP = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(length=_HEAD.c.length + bindparam("grow"))
    .returning(_HEAD.c.last_hash, _HEAD.c.length)
)
LINK = update(_HEAD).where(_HEAD.c.id == HEAD_ID)
LINK = LINK.values(last_hash=bindparam("new_hash"), last_id=bindparam("new_id"))
_ENTRY = AuditEntry.__table__
INSERT_ENTRY = insert(_ENTRY).returning(_ENTRY.c.id)


def _lock_head(session: Session | Connection, grow: int = 1) -> tuple[str, int]:
    """Take the chain's write lock (a row update) and return the newest hash and the length.

    One UPDATE … RETURNING: on PostgreSQL a second appender waits on the row until the first
    commits, then reads the new head; on SQLite the update takes the database's write lock.
    """
    head = session.execute(BUMP, {"grow": grow}).first()
    if head is None:
        _ensure_head(session)
        head = session.execute(BUMP, {"grow": grow}).one()
    return head.last_hash, head.length


def append_entry(
    session: Session | Connection,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry linked to the newest one (committed with the caller's work).

    Core statements on a Session's connection or a bare Connection; the returned entry is a
    detached copy of the row written (its id set).
    """
    previous, _ = _lock_head(session)
    at = clock.now()
    detail = normalised_detail(detail)
    payload = entry_payload(at=at, actor=actor, action=action, target=target, ip=ip, detail=detail)
    values = {"at": at, "actor": actor, "action": action, "target": target, "ip": ip,
              "detail": detail, "prev_hash": previous, "hash": link_hash(previous, payload)}  # fmt: skip
    entry_id = session.execute(INSERT_ENTRY, values).scalar_one()
    session.execute(LINK, {"new_hash": values["hash"], "new_id": entry_id})
    return AuditEntry(id=entry_id, **values)


def _entries(session: Session, since: datetime | None = None) -> Iterator[AuditEntry]:
    """Yield the entries in chain (id) order, a batch at a time."""
    after = 0
    while True:
        query = select(AuditEntry).where(AuditEntry.id > after)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        batch = session.scalars(query.order_by(AuditEntry.id).limit(BATCH)).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].id
        for entry in batch:  # a long log is walked in constant memory
            session.expunge(entry)


def _chain_start(session: Session) -> tuple[str, int | None]:
    """Return the hash the first kept entry must follow, and the last pruned id (if any)."""
    anchor = session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == PRUNE_ACTION)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    if anchor is None:
        return GENESIS, None
    return str(anchor.detail.get("last_pruned_hash", GENESIS)), anchor.detail.get("last_pruned_id")


def _own_hash(entry: AuditEntry) -> str:
    payload = entry_payload(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        ip=entry.ip,
        detail=entry.detail,
    )
    return link_hash(entry.prev_hash, payload)


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from its start (or the newest prune anchor) and report the first break."""
    expected, pruned_through = _chain_start(session)
    count, first_id, last_id, previous_id = 0, None, None, pruned_through
    for entry in _entries(session):
        first_id = entry.id if first_id is None else first_id
        if entry.prev_hash != expected:
            where = f"entry {previous_id}" if previous_id else "the chain's start"
            reason = (
                f"entry {entry.id} does not follow {where}: an entry before it was deleted,"
                " or it was inserted out of chain"
            )
            return _broken(count, first_id, last_id, pruned_through, entry.id, reason)
        if _own_hash(entry) != entry.hash:
            reason = f"entry {entry.id} does not match its hash: it was edited"
            return _broken(count, first_id, last_id, pruned_through, entry.id, reason)
        expected, previous_id, last_id, count = entry.hash, entry.id, entry.id, count + 1
    return _check_tail(session, expected, count, first_id, last_id, pruned_through)


def _broken(
    count: int,
    first_id: int | None,
    last_id: int | None,
    pruned_through: int | None,
    broken_id: int | None,
    reason: str,
) -> ChainReport:
    return ChainReport(False, count, first_id, last_id, pruned_through, broken_id, reason)


def _check_tail(
    session: Session,
    newest: str,
    count: int,
    first_id: int | None,
    last_id: int | None,
    pruned_through: int | None,
) -> ChainReport:
    """Compare the chain's end with the head row (deleting the newest entries shows here)."""
    head = session.get(AuditChainHead, HEAD_ID)
    if head is not None and head.last_hash != newest:
        ends = f"ends at entry {last_id}" if last_id else "is empty"
        reason = (
            f"the chain {ends} but its head names entry {head.last_id}:"
            " the newest entries were deleted"
        )
        return _broken(count, first_id, last_id, pruned_through, head.last_id, reason)
    return ChainReport(True, count, first_id, last_id, pruned_through)


def export_entries(session: Session, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Yield the entries (optionally from a time on) as JSON-ready dicts, in chain order."""
    for entry in _entries(session, since):
        yield {
            "id": entry.id,
            **entry_payload(
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                target=entry.target,
                ip=entry.ip,
                detail=entry.detail,
            ),
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
        }


def prune_entries(session: Session, before: datetime, *, actor: str = "tenure") -> int:
    """Delete the entries older than before; an anchor entry records the last pruned hash.

    The chain's oldest entries go as one prefix (every id up to the newest old entry), so the
    kept entries still link up to the anchor. Return how many were deleted.
    """
    _lock_head(session, grow=0)
    through = session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.at < before))
    if through is None:
        return 0
    last_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.id == through))
    pruned = session.execute(delete(AuditEntry).where(AuditEntry.id <= through)).rowcount or 0
    append_entry(
        session,
        actor=actor,
        action=PRUNE_ACTION,
        target="audit_log",
        detail={
            "last_pruned_id": through,
            "last_pruned_hash": last_hash,
            "pruned": pruned,
            "before": before.isoformat(),
        },
    )
    return pruned


__all__ = [
    "ChainReport",
    "append_entry",
    "export_entries",
    "prune_entries",
    "verify_chain",
]
