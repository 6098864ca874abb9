"""App-DB models of the loyalty programme: the double-entry ledger, wallets, lots, rewards.

Every movement of points (earn, adjust, redeem, expire, reverse) is one `loyalty_movement` row
and a set of `loyalty_entry` rows that sum to zero across the ledger accounts: a member's
`wallet`, the programme's `liability` (the counter-account of every issue), `reward_expense`
(points spent on rewards) and `breakage` (points that expired). Rows are never updated or
deleted: a correction is a new movement. `loyalty_wallet.balance` is the running sum of a
wallet's entries, kept beside the ledger so a redemption can debit it with one conditional
UPDATE (never below zero, enforced again by a CHECK constraint).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType

LEDGER_ACCOUNTS = ("wallet", "liability", "reward_expense", "breakage")
MOVEMENT_KINDS = ("earn", "adjust", "redeem", "expire", "reverse")
REDEMPTION_STATUSES = ("pending", "fulfilled", "rejected", "failed")


class LoyaltyProgram(Base):
    """A loaded programme document; the newest row is the programme in force."""

    __tablename__ = "loyalty_program"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source: Mapped[str] = mapped_column(String(1024))
    loaded_at: Mapped[datetime]
    earned_through: Mapped[date | None] = mapped_column(Date)


class LoyaltyEnrolment(Base):
    """An account's randomised arm: programme member or holdout (decided once)."""

    __tablename__ = "loyalty_enrolment"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    arm: Mapped[str] = mapped_column(String(16))
    enrolled_at: Mapped[datetime]


class LoyaltyWallet(Base):
    """A member account's points balance (the sum of its wallet entries) and tier."""

    __tablename__ = "loyalty_wallet"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    tier: Mapped[str | None] = mapped_column(String(32))
    tier_review_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]


class LoyaltyMovement(Base):
    """One movement of points; its entries sum to zero. `source_key` makes earning idempotent."""

    __tablename__ = "loyalty_movement"
    __table_args__ = (
        Index("ix_loyalty_movement_account_kind", "account_id", "kind"),
        # covers the earning stage's per-(account, rule) history read (one index scan)
        Index("ix_loyalty_movement_earn_history", "kind", "account_id", "rule", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)  # signed change of the wallet
    rule: Mapped[str | None] = mapped_column(String(64))
    source_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    posted_at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(255))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_movement.id"))
    written_off: Mapped[int] = mapped_column(BigInteger, default=0)


class LoyaltyEntry(Base):
    """One side of a movement: a signed amount on one ledger account."""

    __tablename__ = "loyalty_entry"
    __table_args__ = (Index("ix_loyalty_entry_account", "account_id", "ledger_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movement_id: Mapped[int] = mapped_column(
        ForeignKey("loyalty_movement.id", ondelete="CASCADE"), index=True
    )
    ledger_account: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(Integer)  # set on wallet entries
    amount: Mapped[int] = mapped_column(BigInteger)


class LoyaltyLot(Base):
    """Points earned together, spent oldest first, expiring on `expires_on`."""

    __tablename__ = "loyalty_lot"
    __table_args__ = (
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        Index("ix_loyalty_lot_account_expiry", "account_id", "expires_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    movement_id: Mapped[int] = mapped_column(ForeignKey("loyalty_movement.id"), unique=True)
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    earned_at: Mapped[datetime]
    expires_on: Mapped[date] = mapped_column(Date)


class LoyaltyReward(Base):
    """A catalogue item; `stock` never goes below zero (CHECK and conditional UPDATE)."""

    __tablename__ = "loyalty_reward"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer)
    stock_loaded: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")


class LoyaltyRedemption(Base):
    """A request for a reward: fulfilled at once, or pending a manager's approval."""

    __tablename__ = "loyalty_redemption"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    reward_key: Mapped[str] = mapped_column(ForeignKey("loyalty_reward.key"))
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_movement.id"))
    requested_by: Mapped[str | None] = mapped_column(String(255))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class LoyaltyBadgeAward(Base):
    """A badge an account earned, once."""

    __tablename__ = "loyalty_badge_award"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    badge: Mapped[str] = mapped_column(String(64), primary_key=True)
    awarded_at: Mapped[datetime]
