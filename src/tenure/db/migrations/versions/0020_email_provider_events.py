"""messaging: email-provider webhook events (idempotency, replay protection)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "email_provider_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=160), nullable=False),
        sa.Column("token_key", sa.String(length=160), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("received_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_provider_event")),
        sa.UniqueConstraint("event_key", name=op.f("uq_email_provider_event_event_key")),
        sa.UniqueConstraint("token_key", name=op.f("uq_email_provider_event_token_key")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("email_provider_event")
