"""loyalty engagement: streaks, challenge progress, contact scores, leaderboard opt-ins, tier changes

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 20:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = tenure.db.base.UTCDateTime(timezone=True)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["account.id"], name=op.f(f"fk_{table}_account_id_account"),
        ondelete="CASCADE",
    )  # fmt: skip


def _contact_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["contact_id"], ["contact.id"], name=op.f(f"fk_{table}_contact_id_contact"),
        ondelete="CASCADE",
    )  # fmt: skip


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "loyalty_streak",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("current_weeks", sa.Integer(), nullable=False),
        sa.Column("longest_weeks", sa.Integer(), nullable=False),
        sa.Column("last_active_week", sa.Date(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        _account_fk("loyalty_streak"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_loyalty_streak")),
    )
    op.create_table(
        "loyalty_challenge_progress",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("goal", sa.Integer(), nullable=False),
        sa.Column("completed_at", UTC, nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        _account_fk("loyalty_challenge_progress"),
        sa.PrimaryKeyConstraint(
            "account_id", "challenge", name=op.f("pk_loyalty_challenge_progress")
        ),
    )
    op.create_table(
        "loyalty_contact_score",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        _account_fk("loyalty_contact_score"),
        _contact_fk("loyalty_contact_score"),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_loyalty_contact_score")),
    )
    op.create_index(
        "ix_loyalty_contact_score_account", "loyalty_contact_score", ["account_id"], unique=False
    )
    op.create_table(
        "loyalty_leaderboard_optin",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTC, nullable=False),
        sa.Column("changed_by", sa.String(length=255), nullable=True),
        _contact_fk("loyalty_leaderboard_optin"),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_loyalty_leaderboard_optin")),
    )
    op.create_table(
        "loyalty_tier_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("from_tier", sa.String(length=32), nullable=True),
        sa.Column("to_tier", sa.String(length=32), nullable=False),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        _account_fk("loyalty_tier_change"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tier_change")),
    )
    op.create_index(
        "ix_loyalty_tier_change_day", "loyalty_tier_change", ["changed_on"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_loyalty_tier_change_day", table_name="loyalty_tier_change")
    op.drop_table("loyalty_tier_change")
    op.drop_table("loyalty_leaderboard_optin")
    op.drop_index("ix_loyalty_contact_score_account", table_name="loyalty_contact_score")
    op.drop_table("loyalty_contact_score")
    op.drop_table("loyalty_challenge_progress")
    op.drop_table("loyalty_streak")
