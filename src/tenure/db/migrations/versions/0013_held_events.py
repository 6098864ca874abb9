"""events: hold inbox events of unknown users; identity links from group and alias calls

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("event_inbox") as batch:
        batch.alter_column("account_external_id", existing_type=sa.String(128), nullable=True)
        batch.add_column(sa.Column("contact_email", sa.String(320), nullable=True))
        batch.create_index("ix_event_inbox_contact", ["contact_external_id"], unique=False)
    with op.batch_alter_table("contact") as batch:
        batch.create_index("ix_contact_email", ["email"], unique=False)
    op.create_table(
        "identity_link",
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("account_external_id", sa.String(128), nullable=True),
        sa.Column("alias_of", sa.String(128), nullable=True),
        sa.Column("updated_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_identity_link")),
    )


def downgrade() -> None:
    """Revert this revision (held events, which have no account, are dropped)."""
    op.drop_table("identity_link")
    with op.batch_alter_table("contact") as batch:
        batch.drop_index("ix_contact_email")
    op.execute("DELETE FROM event_inbox WHERE account_external_id IS NULL")
    with op.batch_alter_table("event_inbox") as batch:
        batch.drop_index("ix_event_inbox_contact")
        batch.drop_column("contact_email")
        batch.alter_column("account_external_id", existing_type=sa.String(128), nullable=False)
