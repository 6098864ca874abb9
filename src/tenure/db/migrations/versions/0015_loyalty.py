"""loyalty: programme, double-entry points ledger, wallets, lots, rewards, redemptions, badges

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:35:29.343543
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "loyalty_program",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("loaded_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("earned_through", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_program")),
    )
    op.create_table(
        "loyalty_reward",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("stock_loaded", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_loyalty_reward_stock_not_negative")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_loyalty_reward")),
    )
    op.create_table(
        "loyalty_badge_award",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("badge", sa.String(length=64), nullable=False),
        sa.Column("awarded_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_loyalty_badge_award_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "badge", name=op.f("pk_loyalty_badge_award")),
    )
    op.create_table(
        "loyalty_enrolment",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("enrolled_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_loyalty_enrolment_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_loyalty_enrolment")),
    )
    op.create_table(
        "loyalty_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("source_key", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("posted_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("written_off", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_loyalty_movement_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["loyalty_movement.id"],
            name=op.f("fk_loyalty_movement_reverses_id_loyalty_movement"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_movement")),
        sa.UniqueConstraint("source_key", name=op.f("uq_loyalty_movement_source_key")),
    )
    with op.batch_alter_table("loyalty_movement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_movement_account_kind", ["account_id", "kind"], unique=False
        )

    op.create_table(
        "loyalty_wallet",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("tier_review_on", sa.Date(), nullable=True),
        sa.Column("updated_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_loyalty_wallet_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_loyalty_wallet_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_loyalty_wallet")),
    )
    op.create_table(
        "loyalty_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("movement_id", sa.Integer(), nullable=False),
        sa.Column("ledger_account", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["loyalty_movement.id"],
            name=op.f("fk_loyalty_entry_movement_id_loyalty_movement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_entry")),
    )
    with op.batch_alter_table("loyalty_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_entry_account", ["account_id", "ledger_account"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_loyalty_entry_movement_id"), ["movement_id"], unique=False
        )

    op.create_table(
        "loyalty_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("movement_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("earned_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.CheckConstraint("remaining >= 0", name=op.f("ck_loyalty_lot_remaining_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_loyalty_lot_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["loyalty_movement.id"],
            name=op.f("fk_loyalty_lot_movement_id_loyalty_movement"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_lot")),
        sa.UniqueConstraint("movement_id", name=op.f("uq_loyalty_lot_movement_id")),
    )
    with op.batch_alter_table("loyalty_lot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_lot_account_expiry", ["account_id", "expires_on"], unique=False
        )

    op.create_table(
        "loyalty_redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("reward_key", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("movement_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=True),
        sa.Column("requested_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_loyalty_redemption_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["loyalty_movement.id"],
            name=op.f("fk_loyalty_redemption_movement_id_loyalty_movement"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_key"],
            ["loyalty_reward.key"],
            name=op.f("fk_loyalty_redemption_reward_key_loyalty_reward"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_redemption")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loyalty_redemption_idempotency_key")),
    )


def downgrade() -> None:
    """Revert this revision."""

    op.drop_table("loyalty_redemption")
    with op.batch_alter_table("loyalty_lot", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_lot_account_expiry")

    op.drop_table("loyalty_lot")
    with op.batch_alter_table("loyalty_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_entry_movement_id"))
        batch_op.drop_index("ix_loyalty_entry_account")

    op.drop_table("loyalty_entry")
    op.drop_table("loyalty_wallet")
    with op.batch_alter_table("loyalty_movement", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_movement_account_kind")

    op.drop_table("loyalty_movement")
    op.drop_table("loyalty_enrolment")
    op.drop_table("loyalty_badge_award")
    op.drop_table("loyalty_reward")
    op.drop_table("loyalty_program")
