"""loyalty: covering index for each (account, rule)'s earning history

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-07 20:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_loyalty_movement_earn_history",
        "loyalty_movement",
        ["kind", "account_id", "rule", "occurred_at"],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_loyalty_movement_earn_history", table_name="loyalty_movement")
