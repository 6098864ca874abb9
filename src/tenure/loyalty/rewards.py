"""The rewards catalogue and redemptions: stock never below zero, approvals above a threshold.

A redemption at or under the programme's approval threshold is fulfilled at once: one
conditional UPDATE takes the points from the wallet (`balance >= price`), one takes a unit of
stock (`stock >= 1`); if either finds too little, InsufficientPoints or OutOfStock rolls the
whole transaction back. A dearer one is stored as `pending` and fulfilled the same way when a
manager approves it (so the balance and stock are checked at approval time).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.errors import NotFound, StateConflict
from tenure.loyalty.ledger import debit
from tenure.loyalty.models import LoyaltyRedemption, LoyaltyReward
from tenure.loyalty.program import Program


class OutOfStock(StateConflict):
    """The reward has no stock left."""


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


def _take_stock(session: Session, reward_key: str) -> None:
    """Take one unit of stock, or raise OutOfStock."""
    table = LoyaltyReward.__table__
    taken = session.execute(
        sa.update(table)
        .where(table.c.key == reward_key, table.c.stock >= 1)
        .values(stock=table.c.stock - 1)
    )
    if taken.rowcount != 1:
        raise OutOfStock(f"the reward {reward_key!r} is out of stock")


def _fulfil(session: Session, redemption: LoyaltyRedemption, reward: LoyaltyReward) -> None:
    """Debit the wallet and the stock, post the redeem movement, mark it fulfilled."""
    movement = debit(
        session, redemption.account_id, redemption.points, "redeem",
        reason=f"reward {reward.key}", actor=redemption.decided_by or redemption.requested_by,
        source_key=f"redeem:{redemption.id}",
    )  # fmt: skip
    _take_stock(session, reward.key)
    redemption.movement_id, redemption.status = movement.id, "fulfilled"
    session.flush()


def request_redemption(
    session: Session,
    program: Program,
    account: Account,
    reward_key: str,
    *,
    actor: str | None = None,
    idempotency_key: str | None = None,
) -> LoyaltyRedemption:
    """Redeem a reward for an account (fulfilled, or pending approval above the threshold)."""
    if idempotency_key is not None:
        earlier = redemption_by_key(session, idempotency_key)
        if earlier is not None:
            return _same_request(earlier, account.id, reward_key)
    reward = session.get(LoyaltyReward, reward_key)
    if reward is None or not reward.active:
        raise NotFound(f"no reward {reward_key!r} in the catalogue (see `tenure loyalty rewards`)")
    pending = reward.points > program.approval_threshold
    redemption = LoyaltyRedemption(
        account_id=account.id, reward_key=reward.key, points=reward.points,
        status="pending" if pending else "fulfilled", idempotency_key=idempotency_key,
        requested_by=actor, requested_at=clock.now(),
    )  # fmt: skip
    session.add(redemption)
    session.flush()
    if not pending:
        _fulfil(session, redemption, reward)
    return redemption


def redemption_by_key(session: Session, idempotency_key: str) -> LoyaltyRedemption | None:
    """Return the redemption stored under an Idempotency-Key (None if none)."""
    query = sa.select(LoyaltyRedemption).where(LoyaltyRedemption.idempotency_key == idempotency_key)
    return session.scalars(query).first()


def _same_request(earlier: LoyaltyRedemption, account_id: int, reward_key: str):
    """Return the earlier redemption if it asked for the same thing, else StateConflict."""
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
        _fulfil(session, redemption, session.get_one(LoyaltyReward, redemption.reward_key))
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
