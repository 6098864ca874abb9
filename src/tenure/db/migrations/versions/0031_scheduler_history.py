"""scheduler leases and progress; weekly score roll-up

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = tenure.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_lease")),
    )
    op.create_table(
        "job_progress",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_completed", sa.Date(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_progress")),
    )
    op.create_table(
        "score_week",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("health_days", sa.Integer(), nullable=False),
        sa.Column("health_score", sa.Float(), nullable=True),
        sa.Column("health_tier", sa.String(length=32), nullable=True),
        sa.Column("churn_days", sa.Integer(), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=True),
        sa.Column("risk_tier", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_score_week_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "week", name=op.f("pk_score_week")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("score_week")
    op.drop_table("job_progress")
    op.drop_table("job_lease")
