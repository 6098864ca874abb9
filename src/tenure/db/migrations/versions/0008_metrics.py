"""metrics: monthly summaries and named reports materialised for serving; pipeline run log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "metrics_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("figures", JSON_TYPE, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_metrics_month")),
    )
    op.create_table(
        "metrics_snapshot",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("payload", JSON_TYPE, nullable=False),
        sa.Column("computed_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_metrics_snapshot")),
    )
    op.create_table(
        "pipeline_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("summary", JSON_TYPE, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_run")),
    )
    op.create_index("ix_pipeline_run_started_at", "pipeline_run", ["started_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_pipeline_run_started_at", table_name="pipeline_run")
    op.drop_table("pipeline_run")
    op.drop_table("metrics_snapshot")
    op.drop_table("metrics_month")
