"""experiments: definitions, sticky assignments, first exposures, per-variant metric summaries

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = tenure.db.base.UTCDateTime(timezone=True)


def _experiment() -> None:
    op.create_table(
        "experiment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("hypothesis", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("layer", sa.String(length=64), nullable=True),
        sa.Column("layer_start", sa.Float(), nullable=False),
        sa.Column("layer_end", sa.Float(), nullable=False),
        sa.Column("variants", JSON, nullable=False),
        sa.Column("control", sa.String(length=64), nullable=False),
        sa.Column("targeting", JSON, nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("guardrails", JSON, nullable=False),
        sa.Column("target_units", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("stopped_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment")),
        sa.UniqueConstraint("key", name=op.f("uq_experiment_key")),
    )


def _unit_table(name: str, at: str) -> None:
    op.create_table(
        name,
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(length=128), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column(at, UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f(f"fk_{name}_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "unit_id", name=op.f(f"pk_{name}")),
    )


def _summary() -> None:
    stats = ("pre_sum", "pre_sum_squares", "pre_cross_sum")
    stats += ("denominator_sum", "denominator_sum_squares", "denominator_cross_sum")
    op.create_table(
        "experiment_metric_summary",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("lower_is_better", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("sum_squares", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in stats),
        sa.Column("computed_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f("fk_experiment_metric_summary_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "experiment_id", "metric", "variant", "as_of", name=op.f("pk_experiment_metric_summary")
        ),
    )


def upgrade() -> None:
    """Apply this revision."""
    _experiment()
    _unit_table("experiment_assignment", "assigned_at")
    _unit_table("experiment_exposure", "first_exposed_at")
    _summary()


def downgrade() -> None:
    """Revert this revision."""
    for name in (
        "experiment_metric_summary",
        "experiment_exposure",
        "experiment_assignment",
        "experiment",
    ):
        op.drop_table(name)
