"""serving tables of daily churn scores and health scores

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "churn_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("risk_tier", sa.String(length=16), nullable=False),
        sa.Column("reasons", JSON_TYPE, nullable=False),
        sa.Column("scored_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        _account_fk(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_score")),
        sa.UniqueConstraint("account_id", "as_of", name="uq_churn_score_account_as_of"),
    )
    op.create_index("ix_churn_score_as_of", "churn_score", ["as_of"])
    op.create_table(
        "health_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("scorecard", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("measures", JSON_TYPE, nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("change_7d", sa.Float(), nullable=True),
        sa.Column("change_30d", sa.Float(), nullable=True),
        sa.Column("updated_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        _account_fk(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_score")),
        sa.UniqueConstraint("account_id", "as_of", name="uq_health_score_account_as_of"),
    )
    op.create_index("ix_health_score_as_of", "health_score", ["as_of"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_health_score_as_of", table_name="health_score")
    op.drop_table("health_score")
    op.drop_index("ix_churn_score_as_of", table_name="churn_score")
    op.drop_table("churn_score")
