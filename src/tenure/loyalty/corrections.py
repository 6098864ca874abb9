"""Movements that take points back: clawbacks of reversed earnings and expiry of old lots.

A refunded invoice (a Stripe `charge.refunded`, or an invoices import that marks it refunded,
swept by the stage) and a reversed event (a tracked event whose `reverses_message_id`
property names it) claw back the earnings they caused. A clawback never takes a wallet below zero: it takes what the wallet holds (from the earning's
own lot first, then oldest first) and records the rest as `written_off` on the reversing
movement, which the report lists. Expiry turns each lot's remaining points into breakage
after `expiry_months`. Both are idempotent through the movement's unique source key.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tenure import clock
from tenure.errors import NotFound
from tenure.loyalty.ledger import (
    BATCH,
    _add_to_wallets,
    _entries,
    consume_lots,
    insert_for,
    lock_wallet,
    post_movement,
)
from tenure.loyalty.models import LoyaltyEntry, LoyaltyLot, LoyaltyMovement, LoyaltyWallet


@dataclass(frozen=True)
class Clawback:
    """What a clawback did: points taken from the wallet and points written off."""

    movement_id: int
    account_id: int
    taken: int
    written_off: int


def _by_key(session: Session, source_key: str) -> LoyaltyMovement | None:
    return session.scalars(
        sa.select(LoyaltyMovement).where(LoyaltyMovement.source_key == source_key)
    ).first()


def _take_from_own_lot(session: Session, movement_id: int, points: int) -> int:
    """Take up to points from the lot the earning created; return how many were taken."""
    lot = session.scalars(
        sa.select(LoyaltyLot).where(LoyaltyLot.movement_id == movement_id)
    ).first()
    if lot is None or lot.remaining <= 0:
        return 0
    taken = min(points, lot.remaining)
    lot.remaining -= taken
    session.flush()
    return taken


def claw_back(session: Session, source_key: str, reason: str, actor: str | None = None) -> Clawback:
    """Reverse the earning keyed source_key (a refund, a reversed event); idempotent."""
    original = _by_key(session, source_key)
    if original is None or original.points <= 0:
        raise NotFound(f"no earning with source key {source_key!r} in the loyalty ledger")
    done = _by_key(session, f"reverse:{source_key}")
    if done is not None:
        return Clawback(done.id, done.account_id, -done.points, done.written_off)
    balance = lock_wallet(session, original.account_id)
    taken = min(original.points, balance)
    from_own = _take_from_own_lot(session, original.id, taken)
    consume_lots(session, original.account_id, taken - from_own)
    _add_to_wallets(session, {original.account_id: -taken})
    movement = post_movement(
        session, original.account_id, "reverse", -taken, rule=original.rule, reason=reason,
        source_key=f"reverse:{source_key}", reverses_id=original.id, actor=actor,
        written_off=original.points - taken,
    )  # fmt: skip
    return Clawback(movement.id, original.account_id, taken, original.points - taken)


def _lock_wallets(session: Session, account_ids: list[int]) -> None:
    """Lock the wallets (no-op UPDATE) so no debit interleaves with the expiry."""
    table = LoyaltyWallet.__table__
    for start in range(0, len(account_ids), BATCH):
        chunk = account_ids[start : start + BATCH]
        session.execute(
            sa.update(table).where(table.c.account_id.in_(chunk)).values(updated_at=clock.now())
        )


def _expiring(session: Session, as_of: date) -> list[Any]:
    query = sa.select(
        LoyaltyLot.id, LoyaltyLot.account_id, LoyaltyLot.remaining, LoyaltyLot.expires_on
    )
    query = query.where(LoyaltyLot.expires_on <= as_of, LoyaltyLot.remaining > 0)
    return list(session.execute(query.order_by(LoyaltyLot.id)).all())


def expire_points(session: Session, as_of: date) -> dict[str, int]:
    """Expire every lot due on or before as_of into breakage; return lots and points expired."""
    due = _expiring(session, as_of)
    if not due:
        return {"lots": 0, "points": 0}
    _lock_wallets(session, sorted({lot.account_id for lot in due}))
    due = _expiring(session, as_of)  # what the wallets' locks now guard
    lots = points = 0
    for start in range(0, len(due), BATCH):
        n, p = _expire_batch(session, due[start : start + BATCH])
        lots, points = lots + n, points + p
    return {"lots": lots, "points": points}


def _expire_batch(session: Session, batch: list[Any]) -> tuple[int, int]:
    """Post one batch of expiries, empty their lots and debit the wallets."""
    now = clock.now()
    values = [
        {"account_id": lot.account_id, "kind": "expire", "points": -lot.remaining,
         "source_key": f"expire:lot:{lot.id}", "posted_at": now, "actor": "pipeline",
         "occurred_at": datetime.combine(lot.expires_on, time(), tzinfo=UTC),
         "written_off": 0, "reason": "points expired"}
        for lot in batch
    ]  # fmt: skip
    table = LoyaltyMovement.__table__
    stmt = insert_for(session, table).on_conflict_do_nothing(index_elements=["source_key"])
    returning = (table.c.id, table.c.account_id, table.c.points, table.c.source_key)
    connection = session.connection()
    new = connection.execute(stmt.returning(*returning), values).all()
    if not new:
        return 0, 0
    entries = [e for row in new for e in _entries(row.id, "expire", row.account_id, row.points)]
    connection.execute(sa.insert(LoyaltyEntry.__table__), entries)
    lot_ids = [int(row.source_key.rsplit(":", 1)[1]) for row in new]
    lots = LoyaltyLot.__table__
    session.execute(sa.update(lots).where(lots.c.id.in_(lot_ids)).values(remaining=0))
    deltas: dict[int, int] = defaultdict(int)
    for row in new:
        deltas[row.account_id] += row.points
    _add_to_wallets(session, deltas)
    return len(new), -sum(row.points for row in new)


def _earnings_of(session: Session, prefix: str) -> list[str]:
    """Return the source keys of the earnings keyed `<prefix><rule>` (any rule)."""
    movement = LoyaltyMovement
    query = sa.select(movement.source_key).where(
        movement.kind == "earn", movement.source_key == sa.literal(prefix) + movement.rule
    )
    return [key for key in session.scalars(query.order_by(movement.id)) if key]


def claw_back_invoice(session: Session, invoice_id: str, reason: str) -> list[Clawback]:
    """Claw back every earning a (now refunded) invoice caused; idempotent."""
    return [
        claw_back(session, key, reason) for key in _earnings_of(session, f"invoice:{invoice_id}:")
    ]


def claw_back_event(session: Session, message_id: str, reason: str) -> list[Clawback]:
    """Claw back every earning a (now reversed) event caused; idempotent."""
    return [
        claw_back(session, key, reason) for key in _earnings_of(session, f"event:{message_id}:")
    ]


def claw_back_refunds(session: Session) -> dict[str, int]:
    """Claw back the earnings of invoices refunded since (webhooks, imports); return totals."""
    from tenure.accounts.models import Invoice

    movement, reversal = LoyaltyMovement, aliased(LoyaltyMovement)
    query = (
        sa.select(movement.source_key)
        .join(Invoice, movement.source_key == sa.literal("invoice:") + Invoice.external_id
              + sa.literal(":") + movement.rule)
        .where(movement.kind == "earn", Invoice.status == "refunded",
               ~sa.exists().where(reversal.reverses_id == movement.id))
    )  # fmt: skip
    done = [claw_back(session, key, "invoice refunded") for key in session.scalars(query) if key]
    return {"clawbacks": len(done), "points_clawed_back": sum(c.taken for c in done),
            "points_written_off": sum(c.written_off for c in done)}  # fmt: skip
