"""alerts: where each rule's backlog ends (set by its first evaluation)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("alert_rule") as batch:
        batch.add_column(
            sa.Column("backlog_before", tenure.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("alert_rule") as batch:
        batch.drop_column("backlog_before")
