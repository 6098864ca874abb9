"""privacy requests (exports, erasures) and the list of erased identifiers (hashed)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = tenure.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create privacy_request and erased_identifier."""
    op.create_table(
        "privacy_request",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("subject_digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("report", JSON, nullable=False),
    )
    op.create_index("ix_privacy_request_subject_digest", "privacy_request", ["subject_digest"])
    op.create_table(
        "erased_identifier",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("erased_at", UTC_DATETIME, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("erased_identifier")
    op.drop_index("ix_privacy_request_subject_digest", table_name="privacy_request")
    op.drop_table("privacy_request")
