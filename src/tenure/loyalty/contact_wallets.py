"""Contact wallets: post, expire and claw back a contact's points; read their balances.

A contact's points are a ledger of their own (`tenure.loyalty.contact_models`): each earning
is one movement with two entries (contact wallet +points, liability −points) and is its own
lot. An earning stays open until one closing movement ends it: `expire` (its points to
breakage, `expiry_months` after it was earned) or `reverse` (a clawback: the points go back
to liability; an earning already expired is written off instead). So a contact wallet's
balance is the sum of its open earnings, never below zero (a CHECK guards it too). Closing
movements lock the wallet row first, so an expiry and a clawback of the same earning queue.
Nothing here commits: the caller's boundary does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tenure import clock
from tenure.accounts.models import Contact
from tenure.accounts.mrr import instant_after
from tenure.loyalty.contact_models import (
    LoyaltyContactEntry,
    LoyaltyContactMovement,
    LoyaltyContactWallet,
)
from tenure.loyalty.ledger import BATCH, add_months, insert_for

COUNTER_ACCOUNT = {"earn": "liability", "reverse": "liability", "expire": "breakage"}


@dataclass(frozen=True)
class ContactEarning:
    """Points one contact earned under a rule, keyed by the event that caused them."""

    contact_id: int
    account_id: int
    rule: str
    points: int
    source_key: str
    occurred_at: datetime


def ensure_contact_wallets(session: Session, pairs: Iterable[tuple[int, int]]) -> None:
    """Create an empty wallet for each (contact, account) that has none."""
    now = clock.now()
    rows = [{"contact_id": c, "account_id": a, "balance": 0, "updated_at": now}
            for c, a in sorted(set(pairs))]  # fmt: skip
    if rows:
        stmt = insert_for(session, LoyaltyContactWallet.__table__)
        session.connection().execute(
            stmt.on_conflict_do_nothing(index_elements=["contact_id"]), rows
        )


def _entries(movement_id: int, kind: str, contact_id: int, points: int) -> list[dict[str, Any]]:
    """Return the two balanced entries of a contact movement."""
    return [
        {"movement_id": movement_id, "ledger_account": "contact_wallet", "contact_id": contact_id,
         "amount": points},
        {"movement_id": movement_id, "ledger_account": COUNTER_ACCOUNT[kind], "contact_id": None,
         "amount": -points},
    ]  # fmt: skip


def _add_to_wallets(session: Session, deltas: dict[int, int]) -> None:
    """Add each signed delta to its contact wallet (executemany)."""
    table = LoyaltyContactWallet.__table__
    stmt = (
        sa.update(table)
        .where(table.c.contact_id == sa.bindparam("wallet"))
        .values(balance=table.c.balance + sa.bindparam("delta"), updated_at=clock.now())
    )
    rows = [{"wallet": c, "delta": d} for c, d in deltas.items() if d]
    if rows:
        session.connection().execute(stmt, rows)


def _insert_movements(session: Session, values: list[dict[str, Any]]) -> list[Any]:
    """Insert movements (skipping source keys already posted), their entries and wallet changes."""
    table = LoyaltyContactMovement.__table__
    stmt = insert_for(session, table).on_conflict_do_nothing(index_elements=["source_key"])
    returning = (table.c.id, table.c.contact_id, table.c.kind, table.c.points)
    connection = session.connection()
    new = connection.execute(stmt.returning(*returning), values).all()
    if not new:
        return []
    entries = [e for row in new for e in _entries(row.id, row.kind, row.contact_id, row.points)]
    connection.execute(sa.insert(LoyaltyContactEntry.__table__), entries)
    deltas: dict[int, int] = defaultdict(int)
    for row in new:
        deltas[row.contact_id] += row.points
    _add_to_wallets(session, deltas)
    return new


def post_contact_earnings(
    session: Session, earnings: Sequence[ContactEarning], actor: str = "pipeline"
) -> int:
    """Post contact earnings in batches (idempotent on source keys); return how many were new."""
    if not earnings:
        return 0
    ensure_contact_wallets(session, ((e.contact_id, e.account_id) for e in earnings))
    now, posted = clock.now(), 0
    for start in range(0, len(earnings), BATCH):
        values = [
            {"contact_id": e.contact_id, "account_id": e.account_id, "kind": "earn",
             "points": e.points, "rule": e.rule, "source_key": e.source_key,
             "occurred_at": e.occurred_at, "posted_at": now, "actor": actor, "written_off": 0}
            for e in earnings[start : start + BATCH]
        ]  # fmt: skip
        posted += len(_insert_movements(session, values))
    return posted


BULK = 20_000


def post_contact_bulk(
    session: Session, earnings: Sequence[ContactEarning], actor: str = "pipeline"
) -> int:
    """Post many contact earnings (the stage's): plain executemany, then INSERT … SELECT.

    Movements go in skipping source keys already posted; the new ones are found again by id
    range and marker (kind, actor, posting time), their entries written with INSERT … SELECT
    and the wallets credited from one grouped read. Return how many were new.
    """
    if not earnings:
        return 0
    ensure_contact_wallets(session, ((e.contact_id, e.account_id) for e in earnings))
    table, connection, now = LoyaltyContactMovement.__table__, session.connection(), clock.now()
    before = connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
    mine = sa.and_(table.c.id > before.scalar_one(), table.c.kind == "earn",
                   table.c.actor == actor, table.c.posted_at == now)  # fmt: skip
    stmt = insert_for(session, table).on_conflict_do_nothing(index_elements=["source_key"])
    for start in range(0, len(earnings), BULK):
        connection.execute(stmt, [
            {"contact_id": e.contact_id, "account_id": e.account_id, "kind": "earn",
             "points": e.points, "rule": e.rule, "source_key": e.source_key,
             "occurred_at": e.occurred_at, "posted_at": now, "actor": actor, "written_off": 0}
            for e in earnings[start : start + BULK]
        ])  # fmt: skip
    entries, columns = LoyaltyContactEntry.__table__, ["movement_id", "ledger_account",
                                                       "contact_id", "amount"]  # fmt: skip
    for account, owner, sign in (
        ("contact_wallet", table.c.contact_id, 1),
        ("liability", None, -1),
    ):
        chosen = sa.select(table.c.id, sa.literal(account), owner if owner is not None
                           else sa.null(), table.c.points * sign).where(mine)  # fmt: skip
        connection.execute(entries.insert().from_select(columns, chosen))
    grouped = sa.select(table.c.contact_id, sa.func.sum(table.c.points), sa.func.count())
    rows = connection.execute(grouped.where(mine).group_by(table.c.contact_id)).all()
    _add_to_wallets(session, {contact: int(points) for contact, points, _ in rows})
    return sum(n for _, _, n in rows)


def _lock(session: Session, contact_ids: Sequence[int]) -> None:
    """Lock the contact wallets (no-op UPDATE) until the transaction ends."""
    table = LoyaltyContactWallet.__table__
    for start in range(0, len(contact_ids), BATCH):
        chunk = list(contact_ids[start : start + BATCH])
        session.execute(
            sa.update(table).where(table.c.contact_id.in_(chunk)).values(updated_at=clock.now())
        )


def _open_earnings(session: Session, before: datetime) -> list[Any]:
    """Return the earnings before an instant that no expiry or clawback has closed yet."""
    m, closing = LoyaltyContactMovement, aliased(LoyaltyContactMovement)
    query = sa.select(m.id, m.contact_id, m.account_id, m.points, m.rule, m.occurred_at).where(
        m.kind == "earn", m.occurred_at < before, ~sa.exists().where(closing.closes_id == m.id)
    )
    return list(session.execute(query.order_by(m.id)).all())


def expire_contact_points(session: Session, as_of: date, expiry_months: int) -> dict[str, int]:
    """Expire every contact earning due on or before as_of into breakage; return the totals."""
    # a day of month clamps (Jan 31 + 1 month is Feb 28): read a few days more, then check each
    before = instant_after(add_months(as_of, -expiry_months)) + timedelta(days=4)

    def due() -> list[Any]:
        return [e for e in _open_earnings(session, before)
                if add_months(e.occurred_at.date(), expiry_months) <= as_of]  # fmt: skip

    if not due():
        return {"contact_lots": 0, "contact_points": 0}
    _lock(session, sorted({e.contact_id for e in due()}))
    found, now = due(), clock.now()  # what the locks now guard
    values = [
        {"contact_id": e.contact_id, "account_id": e.account_id, "kind": "expire",
         "points": -e.points, "rule": e.rule, "source_key": f"expire:{e.id}",
         "occurred_at": datetime.combine(add_months(e.occurred_at.date(), expiry_months), time(),
                                         tzinfo=UTC),
         "posted_at": now, "actor": "pipeline", "closes_id": e.id, "written_off": 0,
         "reason": "points expired"}
        for e in found
    ]  # fmt: skip
    new = []
    for start in range(0, len(values), BATCH):
        new += _insert_movements(session, values[start : start + BATCH])
    return {"contact_lots": len(new), "contact_points": -sum(row.points for row in new)}


def claw_back_contact_event(session: Session, message_id: str, reason: str) -> int:
    """Claw back the contact earnings of a (now reversed) event; return how many; idempotent."""
    m = LoyaltyContactMovement
    key = sa.literal(f"event:{message_id}:") + m.rule
    earnings = session.execute(
        sa.select(m.id, m.contact_id, m.account_id, m.points, m.rule, m.source_key)
        .where(m.kind == "earn", m.source_key == key)
        .order_by(m.id)
    ).all()  # fmt: skip
    if not earnings:
        return 0
    _lock(session, sorted({e.contact_id for e in earnings}))
    closing = aliased(LoyaltyContactMovement)
    closed = set(session.scalars(sa.select(closing.closes_id).where(
        closing.closes_id.in_([e.id for e in earnings]))))  # fmt: skip
    now = clock.now()
    values = [
        {"contact_id": e.contact_id, "account_id": e.account_id, "kind": "reverse",
         "points": 0 if e.id in closed else -e.points, "rule": e.rule,
         "source_key": f"reverse:{e.source_key}", "occurred_at": now, "posted_at": now,
         "actor": None, "closes_id": e.id, "written_off": e.points if e.id in closed else 0,
         "reason": reason}
        for e in earnings
    ]  # fmt: skip
    return len(_insert_movements(session, values))


def contact_balances(session: Session, account_id: int) -> list[dict[str, Any]]:
    """Return the wallets of an account's contacts, largest balance first."""
    wallet = LoyaltyContactWallet
    query = (
        sa.select(Contact.id, Contact.external_id, Contact.name, wallet.balance)
        .join(wallet, wallet.contact_id == Contact.id)
        .where(wallet.account_id == account_id)
        .order_by(wallet.balance.desc(), Contact.id)
    )
    return [{"contact_id": c, "external_id": e, "name": n, "balance": int(b)}
            for c, e, n, b in session.execute(query)]  # fmt: skip


def contact_lines(session: Session, contact_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """Return the contact's movements, newest first."""
    m = LoyaltyContactMovement
    query = sa.select(m).where(m.contact_id == contact_id).order_by(m.id.desc()).limit(limit)
    return [{"id": r.id, "kind": r.kind, "points": r.points, "rule": r.rule, "reason": r.reason,
             "occurred_at": r.occurred_at.isoformat(), "written_off": r.written_off}
            for r in session.scalars(query)]  # fmt: skip


def contact_summary(session: Session, contact: Contact, expiry_months: int) -> dict[str, Any]:
    """Return a contact's wallet: balance, points earned, expiring in 30 days, recent lines."""
    today = clock.now().date()
    open_earnings = _open_of(session, contact.id)
    horizon = today + timedelta(days=30)
    expiring = sum(e.points for e in open_earnings
                   if add_months(e.occurred_at.date(), expiry_months) <= horizon)  # fmt: skip
    wallet = session.get(LoyaltyContactWallet, contact.id)
    return {
        "contact_id": contact.id, "account_id": contact.account_id,
        "external_id": contact.external_id, "name": contact.name,
        "balance": wallet.balance if wallet is not None else 0,
        "expiring_30d": expiring, "ledger": contact_lines(session, contact.id),
    }  # fmt: skip


def _open_of(session: Session, contact_id: int) -> list[Any]:
    """Return one contact's open earnings."""
    m, closing = LoyaltyContactMovement, aliased(LoyaltyContactMovement)
    query = sa.select(m.id, m.points, m.occurred_at).where(
        m.contact_id == contact_id, m.kind == "earn",
        ~sa.exists().where(closing.closes_id == m.id),
    )  # fmt: skip
    return list(session.execute(query).all())


def contact_books(session: Session) -> dict[str, int]:
    """Return the contact wallets' points issued, expired and outstanding (for the report)."""
    m = LoyaltyContactMovement
    kinds = dict(session.execute(sa.select(m.kind, sa.func.sum(m.points)).group_by(m.kind)).all())
    outstanding = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LoyaltyContactWallet.balance), 0))
    )
    return {"contact_points_issued": int(kinds.get("earn") or 0),
            "contact_points_expired": -int(kinds.get("expire") or 0),
            "contact_points_outstanding": int(outstanding or 0)}  # fmt: skip
