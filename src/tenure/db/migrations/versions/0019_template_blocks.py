"""messaging: content blocks of a template version

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-07 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "message_template_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["message_template.id"],
            name=op.f("fk_message_template_block_template_id_message_template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template_block")),
        sa.UniqueConstraint(
            "template_id", "name", name=op.f("uq_message_template_block_template_id")
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("message_template_block")
