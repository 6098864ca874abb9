"""health: the durable queue of accounts whose score for today waits for a real-time refresh

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "health_refresh_queue",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_health_refresh_queue")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("health_refresh_queue")
