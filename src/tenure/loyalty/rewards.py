"""The rewards catalogue and redemptions: stock never below zero, approvals above a threshold.

A redemption at or under the programme's approval threshold is fulfilled at once, in Core
statements (no ORM objects): one conditional UPDATE takes the points from the wallet
(`balance >= price`), one takes a unit of stock (`stock > 0`, last before the commit); if
either finds too little, InsufficientPoints or OutOfStock rolls the whole transaction back. A dearer one is stored as `pending` and fulfilled the same way when a
manager approves it (so the balance and stock are checked at approval time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.errors import NotFound, StateConflict
from tenure.loyalty.ledger import Executor, connection_of, debit
from tenure.loyalty.models import LoyaltyRedemption, LoyaltyReward
from tenure.loyalty.program import Program

SHOWN = ("id", "account_id", "reward_key", "points", "status", "requested_at", "decided_by")


class OutOfStock(StateConflict):
    """The reward has no stock left."""


@dataclass(frozen=True)
class Redemption:
    """A redemption as the API and the CLI show it."""

    id: int
    account_id: int
    reward_key: str
    points: int
    status: str
    requested_at: datetime
    decided_by: str | None


def _statements() -> tuple[Any, Any, Any]:
    """Return the hot path's fixed statements: reward price, stock taken, redemption fulfilled."""
    reward, redemption = LoyaltyReward.__table__, LoyaltyRedemption.__table__
    price = sa.select(reward.c.points, reward.c.active).where(
        reward.c.key == sa.bindparam("reward")
    )
    stock = (
        sa.update(reward)
        .where(reward.c.key == sa.bindparam("reward"), reward.c.stock > 0)
        .values(stock=reward.c.stock - 1)
    )
    fulfilled = (
        sa.update(redemption)
        .where(redemption.c.id == sa.bindparam("redemption"))
        .values(status="fulfilled", movement_id=sa.bindparam("movement"))
    )
    return price, stock, fulfilled


REWARD_PRICE, TAKE_STOCK, FULFILLED = _statements()


@cache
def _redemption_insert(dialect: str) -> Any:
    """Return the INSERT of a redemption that does nothing on a used Idempotency-Key."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = LoyaltyRedemption.__table__
    stmt = insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
    return stmt.returning(table.c.id)


def sync_catalogue(session: Session, program: Program) -> dict[str, int]:
    """Upsert the programme's rewards; a changed file stock restocks by the difference.

    Rewards no longer in the file are deactivated (kept for their redemptions' history).
    """
    known = {r.key: r for r in session.scalars(sa.select(LoyaltyReward))}
    added = updated = 0
    for reward in program.rewards:
        row = known.pop(reward.key, None)
        if row is None:
            session.add(LoyaltyReward(key=reward.key, name=reward.name, kind=reward.kind,
                                      points=reward.points, stock=reward.stock,
                                      stock_loaded=reward.stock, active=True,
                                      description=reward.description))  # fmt: skip
            added += 1
            continue
        restock = reward.stock - row.stock_loaded
        row.name, row.kind, row.points = reward.name, reward.kind, reward.points
        row.description, row.active, row.stock_loaded = reward.description, True, reward.stock
        row.stock = max(0, row.stock + restock)
        updated += 1
    for row in known.values():
        row.active = False
    return {"added": added, "updated": updated, "retired": len(known)}


def list_rewards(session: Session) -> list[dict[str, Any]]:
    """Return the active catalogue: key, name, kind, points, stock."""
    query = sa.select(LoyaltyReward).where(LoyaltyReward.active).order_by(LoyaltyReward.points)
    return [
        {"key": r.key, "name": r.name, "kind": r.kind, "points": r.points, "stock": r.stock}
        for r in session.scalars(query)
    ]


def find_account(session: Session, ref: str | int) -> Account:
    """Return the account by external id (or numeric id); NotFound otherwise."""
    found = session.scalars(sa.select(Account).where(Account.external_id == str(ref))).first()
    if found is None and str(ref).isdigit():
        found = session.get(Account, int(ref))
    if found is None:
        raise NotFound(f"no account {ref!r} (give its external id or numeric id)")
    return found


def _take_stock(connection: sa.Connection, reward_key: str) -> None:
    """Take one unit of stock (`stock > 0`, the rowcount decides), or raise OutOfStock."""
    taken = connection.execute(TAKE_STOCK, {"reward": reward_key})
    if taken.rowcount != 1:
        raise OutOfStock(f"the reward {reward_key!r} is out of stock")


def _fulfil(
    connection: sa.Connection, redemption_id: int, account_id: int, points: int,
    reward_key: str, actor: str | None,
) -> None:  # fmt: skip
    """Debit the wallet, post the redeem movement, mark it fulfilled; take the stock last.

    The stock row is the one every redemption of the reward shares: on PostgreSQL its row
    lock is held from this UPDATE to the commit, so it comes after the per-wallet work.
    """
    movement_id = debit(
        connection, account_id, points, "redeem", reason=f"reward {reward_key}",
        actor=actor, source_key=f"redeem:{redemption_id}",
    )  # fmt: skip
    connection.execute(FULFILLED, {"redemption": redemption_id, "movement": movement_id})
    _take_stock(connection, reward_key)


def request_redemption(
    session: Executor,
    program: Program,
    account: Any,
    reward_key: str,
    *,
    actor: str | None = None,
    idempotency_key: str | None = None,
) -> Redemption:
    """Redeem a reward for an account (fulfilled, or pending approval above the threshold).

    The redemption row goes in first (INSERT … ON CONFLICT DO NOTHING on the Idempotency-Key):
    when nothing is inserted the key was used before, and that redemption is the answer.
    """
    connection = connection_of(session)
    reward = connection.execute(REWARD_PRICE, {"reward": reward_key}).first()
    if reward is None or not reward.active:
        raise NotFound(f"no reward {reward_key!r} in the catalogue (see `tenure loyalty rewards`)")
    status = "pending" if reward.points > program.approval_threshold else "fulfilled"
    now = clock.now()
    inserted = connection.execute(
        _redemption_insert(connection.dialect.name),
        {"account_id": account.id, "reward_key": reward_key, "points": reward.points,
         "status": status, "idempotency_key": idempotency_key, "requested_by": actor,
         "requested_at": now},
    ).scalar()  # fmt: skip
    if inserted is None:
        return _same_request(redemption_by_key(connection, idempotency_key), account.id, reward_key)
    if status == "fulfilled":
        _fulfil(connection, inserted, account.id, reward.points, reward_key, actor)
    return Redemption(inserted, account.id, reward_key, reward.points, status, now, None)


def redemption_by_key(session: Executor, idempotency_key: str | None) -> Redemption | None:
    """Return the redemption stored under an Idempotency-Key (None if none)."""
    table = LoyaltyRedemption.__table__
    found = (
        connection_of(session)
        .execute(
            sa.select(*(table.c[name] for name in SHOWN)).where(
                table.c.idempotency_key == idempotency_key
            )
        )
        .first()
    )
    return Redemption(*found) if found is not None else None


def _same_request(earlier: Redemption | None, account_id: int, reward_key: str) -> Redemption:
    """Return the earlier redemption if it asked for the same thing, else StateConflict."""
    if earlier is None:  # the conflicting row went away (rolled back) before it could be read
        raise StateConflict("a parallel request with this Idempotency-Key did not finish; retry")
    if earlier.account_id != account_id or earlier.reward_key != reward_key:
        raise StateConflict("this Idempotency-Key was already used for a different redemption")
    return earlier


def decide_redemption(
    session: Session, redemption_id: int, *, approve: bool, actor: str, note: str | None = None
) -> LoyaltyRedemption:
    """Approve (fulfil) or reject a pending redemption."""
    table = LoyaltyRedemption.__table__
    claimed = session.execute(
        sa.update(table)
        .where(table.c.id == redemption_id, table.c.status == "pending")
        .values(
            status="approving" if approve else "rejected",
            decided_by=actor,
            decided_at=clock.now(),
            note=note,
        )
    )
    redemption = session.get(LoyaltyRedemption, redemption_id, populate_existing=True)
    if redemption is None:
        raise NotFound(f"no redemption {redemption_id}")
    if claimed.rowcount != 1:
        raise StateConflict(f"redemption {redemption_id} is {redemption.status}, not pending")
    if approve:
        _fulfil(session.connection(), redemption.id, redemption.account_id, redemption.points,
                redemption.reward_key, actor)  # fmt: skip
        session.refresh(redemption)
    return redemption


def redemption_dict(redemption: LoyaltyRedemption) -> dict[str, Any]:
    """Return a redemption as JSON-ready data."""
    return {
        "id": redemption.id,
        "account_id": redemption.account_id,
        "reward_key": redemption.reward_key,
        "points": redemption.points,
        "status": redemption.status,
        "requested_at": redemption.requested_at.isoformat(),
        "decided_by": redemption.decided_by,
    }


def list_redemptions(session: Session, status: str | None = None) -> list[LoyaltyRedemption]:
    """Return redemptions (of one status if given), newest first, at most 500."""
    query = sa.select(LoyaltyRedemption).order_by(LoyaltyRedemption.id.desc()).limit(500)
    if status is not None:
        query = query.where(LoyaltyRedemption.status == status)
    return list(session.scalars(query))
