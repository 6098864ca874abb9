"""metrics: monthly summaries and movements materialised for serving

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 06:30:00.000000
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
