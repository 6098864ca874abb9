"""segments and their membership history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint("name", name=op.f("uq_segment_name")),
    )
    op.create_table(
        "segment_membership",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_segment_membership_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_segment_membership_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "segment_id", "account_id", "as_of", name=op.f("pk_segment_membership")
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("segment_membership")
    op.drop_table("segment")
