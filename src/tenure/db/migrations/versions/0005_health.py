"""health: daily usage roll-ups, scorecards

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _account_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE")


def _account_day(name: str, *extra: sa.Column, key: tuple[str, ...] = ()) -> None:
    """Create a per-account, per-day table keyed on (account_id, day, *key)."""
    op.create_table(
        name,
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *extra,
        _account_fk(),
        sa.PrimaryKeyConstraint("account_id", "day", *key, name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    """Apply this revision."""
    utc = tenure.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "scorecard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("definition", JSON_TYPE, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecard")),
        sa.UniqueConstraint("name", name="uq_scorecard_name"),
    )
    _account_day(
        "usage_daily",
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("logins", sa.Integer(), nullable=False),
        sa.Column("last_event_at", utc, nullable=False),
        sa.Column("last_login_at", utc, nullable=True),
    )
    _account_day(
        "usage_daily_feature",
        sa.Column("feature", sa.String(length=128), nullable=False),
        key=("feature",),
    )
    _account_day(
        "usage_daily_user", sa.Column("user", sa.String(length=128), nullable=False), key=("user",)
    )
    op.create_table(
        "usage_base",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("base_day", sa.Date(), nullable=False),
        sa.Column("events_recent", sa.Integer(), nullable=False),
        sa.Column("events_previous", sa.Integer(), nullable=False),
        sa.Column("last_login_at", utc, nullable=True),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("users", sa.Text(), nullable=False),
        _account_fk(),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_usage_base")),
    )
    op.create_table(
        "health_reference",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=64), nullable=False),
        sa.Column("quantiles", JSON_TYPE, nullable=False),
        sa.PrimaryKeyConstraint("as_of", "measure", name=op.f("pk_health_reference")),
    )


def downgrade() -> None:
    """Revert this revision."""
    for name in (
        "health_reference",
        "usage_base",
        "usage_daily_user",
        "usage_daily_feature",
        "usage_daily",
        "scorecard",
    ):
        op.drop_table(name)
