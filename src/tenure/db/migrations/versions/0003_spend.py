"""marketing spend (import kind `spend`) for CAC and payback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 05:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "marketing_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("month", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_spend")),
        sa.UniqueConstraint("external_id", name=op.f("uq_marketing_spend_external_id")),
    )
    with op.batch_alter_table("marketing_spend", schema=None) as batch_op:
        batch_op.create_index("ix_marketing_spend_month", ["month"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("marketing_spend", schema=None) as batch_op:
        batch_op.drop_index("ix_marketing_spend_month")
    op.drop_table("marketing_spend")
