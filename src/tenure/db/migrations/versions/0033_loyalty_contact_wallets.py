"""loyalty contact wallets: a contact's own points ledger (wallet, movements, entries)

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-08 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0033"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = tenure.db.base.UTCDateTime(timezone=True)


def _fk(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{parent}.id"], name=op.f(f"fk_{table}_{column}_{parent}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "loyalty_contact_wallet",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(
            "balance >= 0", name=op.f("ck_loyalty_contact_wallet_balance_not_negative")
        ),
        _fk("loyalty_contact_wallet", "contact_id", "contact"),
        _fk("loyalty_contact_wallet", "account_id", "account"),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_loyalty_contact_wallet")),
    )
    op.create_index("ix_loyalty_contact_wallet_account", "loyalty_contact_wallet", ["account_id"])
    op.create_table(
        "loyalty_contact_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", UTC, nullable=False),
        sa.Column("posted_at", UTC, nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("closes_id", sa.Integer(), nullable=True),
        sa.Column("written_off", sa.BigInteger(), nullable=False),
        _fk("loyalty_contact_movement", "contact_id", "contact"),
        _fk("loyalty_contact_movement", "account_id", "account"),
        sa.ForeignKeyConstraint(
            ["closes_id"],
            ["loyalty_contact_movement.id"],
            ondelete="CASCADE",
            name=op.f("fk_loyalty_contact_movement_closes_id_loyalty_contact_movement"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_contact_movement")),
        sa.UniqueConstraint("source_key", name=op.f("uq_loyalty_contact_movement_source_key")),
    )
    op.create_index(
        "ix_loyalty_contact_movement_history",
        "loyalty_contact_movement",
        ["kind", "contact_id", "rule", "occurred_at"],
    )
    op.create_index(
        "ix_loyalty_contact_movement_account", "loyalty_contact_movement", ["account_id"]
    )
    op.create_index("ix_loyalty_contact_movement_closes", "loyalty_contact_movement", ["closes_id"])
    op.create_table(
        "loyalty_contact_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("movement_id", sa.Integer(), nullable=False),
        sa.Column("ledger_account", sa.String(length=16), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["loyalty_contact_movement.id"],
            ondelete="CASCADE",
            name=op.f("fk_loyalty_contact_entry_movement_id_loyalty_contact_movement"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_contact_entry")),
    )
    op.create_index(
        op.f("ix_loyalty_contact_entry_movement_id"), "loyalty_contact_entry", ["movement_id"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("loyalty_contact_entry")
    op.drop_table("loyalty_contact_movement")
    op.drop_table("loyalty_contact_wallet")
