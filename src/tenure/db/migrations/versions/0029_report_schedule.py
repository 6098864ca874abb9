"""report_schedule: recipients and cadence of the scheduled reports

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "report_schedule",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_period", sa.String(length=16), nullable=True),
        sa.Column("last_sent_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_schedule")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("report_schedule")
