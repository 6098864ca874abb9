"""plays: plays, play runs, CSM tasks

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-07 17:48:27.405994
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

revision: str = "0023"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "play",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("holdout_fraction", sa.Float(), nullable=False),
        sa.Column("holdout_reason", sa.Text(), nullable=True),
        sa.Column("created_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_play")),
        sa.UniqueConstraint("key", name=op.f("uq_play_key")),
    )
    op.create_table(
        "play_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("play_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("goal_on", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=255), nullable=False),
        sa.Column("mrr_at_start", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("retained", sa.Boolean(), nullable=True),
        sa.Column("mrr_at_goal", sa.BigInteger(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_play_run_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["play_id"], ["play.id"], name=op.f("fk_play_run_play_id_play"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_play_run")),
        sa.UniqueConstraint(
            "play_id", "account_id", "started_on", name=op.f("uq_play_run_play_id")
        ),
    )
    with op.batch_alter_table("play_run", schema=None) as batch_op:
        batch_op.create_index("ix_play_run_account", ["account_id", "status"], unique=False)

    op.create_table(
        "csm_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("play_run_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("checklist", JSON, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_csm_task_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["play_run_id"],
            ["play_run.id"],
            name=op.f("fk_csm_task_play_run_id_play_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csm_task")),
    )
    with op.batch_alter_table("csm_task", schema=None) as batch_op:
        batch_op.create_index("ix_csm_task_owner", ["owner", "status", "due_on"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("csm_task", schema=None) as batch_op:
        batch_op.drop_index("ix_csm_task_owner")

    op.drop_table("csm_task")
    with op.batch_alter_table("play_run", schema=None) as batch_op:
        batch_op.drop_index("ix_play_run_account")

    op.drop_table("play_run")
    op.drop_table("play")
