"""App-DB models of the contact wallets: a contact's own points ledger beside the company's.

A rule with `award_to = "contact"` or `"both"` credits the wallet of the contact whose event
earned it. A contact wallet is its own ledger account (`contact_wallet`), not a slice of the
company wallet: its movements and their two balanced entries (contact wallet against the
programme's `liability`, or `breakage` on expiry) live in these tables, so the company
wallet's ledger, balance and tier are unchanged by it. Each earning is its own lot: an
`expire` or `reverse` movement names the earning it closes (`closes_id`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base

CONTACT_LEDGER_ACCOUNTS = ("contact_wallet", "liability", "breakage")


class LoyaltyContactWallet(Base):
    """A contact's points balance (the sum of its contact-wallet entries), never below zero."""

    __tablename__ = "loyalty_contact_wallet"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        Index("ix_loyalty_contact_wallet_account", "account_id"),
    )

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


class LoyaltyContactMovement(Base):
    """One movement of a contact's points; `source_key` makes earning idempotent."""

    __tablename__ = "loyalty_contact_movement"
    __table_args__ = (
        Index("ix_loyalty_contact_movement_history", "kind", "contact_id", "rule", "occurred_at"),
        Index("ix_loyalty_contact_movement_account", "account_id"),
        Index("ix_loyalty_contact_movement_closes", "closes_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)  # signed change of the contact wallet
    rule: Mapped[str | None] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(255), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    posted_at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(255))
    closes_id: Mapped[int | None] = mapped_column(
        ForeignKey("loyalty_contact_movement.id", ondelete="CASCADE")
    )
    written_off: Mapped[int] = mapped_column(BigInteger, default=0)


class LoyaltyContactEntry(Base):
    """One side of a contact movement: a signed amount on one ledger account."""

    __tablename__ = "loyalty_contact_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movement_id: Mapped[int] = mapped_column(
        ForeignKey("loyalty_contact_movement.id", ondelete="CASCADE"), index=True
    )
    ledger_account: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(Integer)  # set on contact-wallet entries
    amount: Mapped[int] = mapped_column(BigInteger)
