"""The double-entry points ledger: post movements, keep wallets and lots, never below zero.

A movement changes one member wallet by `points` (signed) and its counter-account by
`-points`, so every movement's entries sum to zero: earn and adjust against `liability`,
redeem against `reward_expense`, expire against `breakage`, reverse against `liability`.
Debits take the wallet with one conditional UPDATE (`balance >= points`) or, where the amount
depends on the balance (a clawback), lock the wallet row first with a no-op UPDATE: on SQLite
that is the database's write lock, on PostgreSQL the row lock, so concurrent debits queue.
Points leave a wallet oldest lot first. Nothing here commits: the caller's boundary does.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import InputError, NotFound, StateConflict
from tenure.loyalty.models import LoyaltyEntry, LoyaltyLot, LoyaltyMovement, LoyaltyWallet

COUNTER_ACCOUNT = {
    "earn": "liability",
    "adjust": "liability",
    "reverse": "liability",
    "redeem": "reward_expense",
    "expire": "breakage",
}
BATCH = 1000


class InsufficientPoints(StateConflict):
    """The wallet holds fewer points than the debit needs."""


@dataclass(frozen=True)
class Earning:
    """Points one account earned under a rule, keyed by what caused them (event or fact)."""

    account_id: int
    rule: str
    points: int
    source_key: str
    occurred_at: datetime


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later (clamped to the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


Executor = Session | sa.Connection  # the hot paths run on a bare Connection (no ORM objects)


def connection_of(executor: Executor) -> sa.Connection:
    """Return the Connection a Session (or a Connection) runs its statements on."""
    return executor if isinstance(executor, sa.Connection) else executor.connection()


def insert_for(session: Executor, model: Any) -> Any:
    """Return the dialect's INSERT for model (it has on_conflict_do_nothing/update)."""
    if connection_of(session).dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def ensure_wallets(session: Executor, account_ids: Iterable[int]) -> None:
    """Create an empty wallet for each account that has none (safe under concurrency)."""
    now = clock.now()
    rows = [{"account_id": a, "balance": 0, "updated_at": now} for a in sorted(set(account_ids))]
    if rows:
        stmt = insert_for(session, LoyaltyWallet.__table__)
        stmt = stmt.on_conflict_do_nothing(index_elements=["account_id"])
        connection_of(session).execute(stmt, rows)


def _entries(movement_id: int, kind: str, account_id: int, points: int) -> list[dict[str, Any]]:
    """Return the two balanced entries of a movement."""
    return [
        {"movement_id": movement_id, "ledger_account": "wallet", "account_id": account_id,
         "amount": points},
        {"movement_id": movement_id, "ledger_account": COUNTER_ACCOUNT[kind], "account_id": None,
         "amount": -points},
    ]  # fmt: skip


def _add_to_wallets(session: Session, deltas: dict[int, int]) -> None:
    """Add each signed delta to its wallet's balance (executemany)."""
    table = LoyaltyWallet.__table__
    stmt = (
        sa.update(table)
        .where(table.c.account_id == sa.bindparam("wallet"))
        .values(balance=table.c.balance + sa.bindparam("delta"), updated_at=clock.now())
    )
    rows = [{"wallet": a, "delta": d} for a, d in deltas.items() if d]
    if rows:
        session.connection().execute(stmt, rows)


def post_earnings(
    session: Session, earnings: Sequence[Earning], expiry_months: int, actor: str = "pipeline"
) -> int:
    """Post earnings in batches; ones whose source key is already posted change nothing.

    Return how many were new.
    """
    if not earnings:
        return 0
    ensure_wallets(session, (e.account_id for e in earnings))
    posted = 0
    for start in range(0, len(earnings), BATCH):
        batch = earnings[start : start + BATCH]
        posted += _post_earning_batch(session, batch, expiry_months, actor)
    return posted


def _post_earning_batch(
    session: Session, batch: Sequence[Earning], expiry_months: int, actor: str
) -> int:
    """Insert one batch's new movements, their entries and lots; credit the wallets.

    Every statement is one cached executemany (SQLAlchemy's insertmanyvalues for the
    RETURNING insert), not a statement compiled per batch or a row per round trip.
    """
    now = clock.now()
    values = [
        {"account_id": e.account_id, "kind": "earn", "points": e.points, "rule": e.rule,
         "source_key": e.source_key, "occurred_at": e.occurred_at, "posted_at": now,
         "actor": actor, "written_off": 0}
        for e in batch
    ]  # fmt: skip
    table = LoyaltyMovement.__table__
    stmt = insert_for(session, table).on_conflict_do_nothing(index_elements=["source_key"])
    returning = (table.c.id, table.c.account_id, table.c.points, table.c.occurred_at)
    connection = session.connection()
    new = connection.execute(stmt.returning(*returning), values).all()
    if not new:
        return 0
    entries = [e for row in new for e in _entries(row.id, "earn", row.account_id, row.points)]
    connection.execute(sa.insert(LoyaltyEntry.__table__), entries)
    connection.execute(sa.insert(LoyaltyLot.__table__), [_lot(row, expiry_months) for row in new])
    deltas: dict[int, int] = defaultdict(int)
    for row in new:
        deltas[row.account_id] += row.points
    _add_to_wallets(session, deltas)
    return len(new)


def _lot(row: Any, expiry_months: int) -> dict[str, Any]:
    """Return the lot of a newly credited movement."""
    occurred = row.occurred_at
    return {"account_id": row.account_id, "movement_id": row.id, "points": row.points,
            "remaining": row.points, "earned_at": occurred,
            "expires_on": add_months(occurred.date(), expiry_months)}  # fmt: skip


def post_movement(
    session: Session,
    account_id: int,
    kind: str,
    points: int,
    **fields: Any,
) -> LoyaltyMovement:
    """Insert one movement and its two entries (the wallet itself is the caller's job)."""
    now = clock.now()
    movement = LoyaltyMovement(
        account_id=account_id, kind=kind, points=points, posted_at=now,
        written_off=fields.pop("written_off", 0), occurred_at=fields.pop("occurred_at", now),
        **fields,
    )  # fmt: skip
    session.add(movement)
    session.flush()
    session.execute(sa.insert(LoyaltyEntry), _entries(movement.id, kind, account_id, points))
    return movement


def _wallet_debit() -> sa.Update:
    """Return the conditional UPDATE taking `debit` points from a wallet holding enough."""
    table = LoyaltyWallet.__table__
    return (
        sa.update(table)
        .where(
            table.c.account_id == sa.bindparam("wallet"), table.c.balance >= sa.bindparam("debit")
        )
        .values(balance=table.c.balance - sa.bindparam("debit"), updated_at=sa.bindparam("now"))
    )


WALLET_DEBIT = _wallet_debit()


def debit_wallet(session: Executor, account_id: int, points: int) -> bool:
    """Take points from the wallet if it holds enough, atomically; return whether it did."""
    result = connection_of(session).execute(
        WALLET_DEBIT, {"wallet": account_id, "debit": points, "now": clock.now()}
    )
    return result.rowcount == 1


def lock_wallet(session: Session, account_id: int) -> int:
    """Lock the wallet against other writers until the transaction ends; return its balance."""
    table = LoyaltyWallet.__table__
    locked = session.execute(
        sa.update(table).where(table.c.account_id == account_id).values(updated_at=clock.now())
    )
    if locked.rowcount != 1:
        raise NotFound(f"account {account_id} has no loyalty wallet (not a programme member)")
    return session.execute(
        sa.select(table.c.balance).where(table.c.account_id == account_id)
    ).one()[0]


def _lots_to_take() -> sa.Update:
    """Return the UPDATE taking `points` from an account's lots, soonest expiry first.

    Each open lot gives min(remaining, points - what the lots before it hold), for the lots
    whose predecessors hold less than `points` (a running sum over expires_on, id).
    """
    lot = LoyaltyLot.__table__
    wanted = sa.bindparam("wanted", type_=sa.BigInteger)
    before = sa.func.sum(lot.c.remaining).over(
        order_by=(lot.c.expires_on, lot.c.id), rows=(None, -1)
    )
    open_lots = (
        sa.select(lot.c.id, lot.c.remaining, sa.func.coalesce(before, 0).label("before"))
        .where(lot.c.account_id == sa.bindparam("account"), lot.c.remaining > 0)
        .subquery("open_lots")
    )
    left = wanted - open_lots.c.before
    taking = (
        sa.select(
            open_lots.c.id,
            sa.case((open_lots.c.remaining < left, open_lots.c.remaining), else_=left).label(
                "take"
            ),
        )
        .where(open_lots.c.before < wanted)
        .subquery("taking")
    )
    return (
        sa.update(lot)
        .where(lot.c.id == taking.c.id)
        .values(remaining=lot.c.remaining - taking.c.take)
    )


LOTS_TO_TAKE = _lots_to_take()


def consume_lots(session: Executor, account_id: int, points: int) -> None:
    """Take points from the account's lots, soonest expiry (oldest) first, in one statement."""
    if points > 0:
        connection_of(session).execute(LOTS_TO_TAKE, {"account": account_id, "wanted": points})


def credit(session: Session, account_id: int, points: int, expiry_months: int, **fields: Any):
    """Credit points as a new movement with its own lot; return the movement."""
    ensure_wallets(session, [account_id])
    movement = post_movement(session, account_id, fields.pop("kind", "adjust"), points, **fields)
    session.execute(sa.insert(LoyaltyLot), [_lot(movement, expiry_months)])
    _add_to_wallets(session, {account_id: points})
    return movement


MOVEMENT_INSERT = sa.insert(LoyaltyMovement.__table__).returning(LoyaltyMovement.__table__.c.id)
ENTRY_INSERT = sa.insert(LoyaltyEntry.__table__)


def post_movement_row(
    session: Executor, account_id: int, kind: str, points: int, **fields: Any
) -> int:
    """Insert one movement and its two entries with Core statements; return the movement id."""
    now = clock.now()
    values = {"account_id": account_id, "kind": kind, "points": points, "posted_at": now,
              "occurred_at": fields.pop("occurred_at", now),
              "written_off": fields.pop("written_off", 0), **fields}  # fmt: skip
    connection = connection_of(session)
    movement_id = connection.execute(MOVEMENT_INSERT, values).scalar_one()
    connection.execute(ENTRY_INSERT, _entries(movement_id, kind, account_id, points))
    return movement_id


def debit(session: Executor, account_id: int, points: int, kind: str, **fields: Any) -> int:
    """Debit points (never below zero: InsufficientPoints); return the movement id."""
    if points <= 0:
        raise InputError(f"a debit takes a positive number of points, got {points}")
    if not debit_wallet(session, account_id, points):
        held = wallet_balance(session, account_id)
        raise InsufficientPoints(f"account {account_id} has {held} points, {points} are needed")
    consume_lots(session, account_id, points)
    return post_movement_row(session, account_id, kind, -points, **fields)


def wallet_balance(session: Executor, account_id: int) -> int:
    """Return the wallet's balance (0 for an account without a wallet)."""
    table = LoyaltyWallet.__table__
    found = (
        connection_of(session)
        .execute(sa.select(table.c.balance).where(table.c.account_id == account_id))
        .scalar()
    )
    return found if found is not None else 0


def ledger_balance(session: Session, account_id: int) -> int:
    """Return the account's balance as the sum of its wallet entries."""
    query = sa.select(sa.func.coalesce(sa.func.sum(LoyaltyEntry.amount), 0)).where(
        LoyaltyEntry.ledger_account == "wallet", LoyaltyEntry.account_id == account_id
    )
    return int(session.execute(query).scalar_one())
