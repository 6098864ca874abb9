"""events: the serving copy of each account's latest events and daily counts per event name

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "account_recent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("contact_external_id", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("ts", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("properties", tenure.db.base.JSONType, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_recent_event")),
    )
    op.create_index(
        "ix_account_recent_event_account_ts", "account_recent_event", ["account_id", "ts"]
    )
    op.create_table(
        "account_event_daily",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("counts", tenure.db.base.JSONType, nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "name", name=op.f("pk_account_event_daily")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("account_event_daily")
    op.drop_index("ix_account_recent_event_account_ts", table_name="account_recent_event")
    op.drop_table("account_recent_event")
