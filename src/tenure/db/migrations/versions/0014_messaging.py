"""messaging: templates, consent, suppression, journeys, messages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:33:54.299195
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tenure.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "journey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("holdout_fraction", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey")),
        sa.UniqueConstraint("key", name=op.f("uq_journey_key")),
    )
    op.create_table(
        "message_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("preheader", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("layout", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("created_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_message_template_name")),
    )
    op.create_table(
        "suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression")),
        sa.UniqueConstraint("email", "reason", name=op.f("uq_suppression_email")),
    )
    op.create_table(
        "contact_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("text_version", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_consent_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_consent")),
    )
    with op.batch_alter_table("contact_consent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_consent_lookup", ["contact_id", "channel", "purpose", "at"], unique=False
        )

    op.create_table(
        "journey_enrollment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_step", sa.String(length=64), nullable=True),
        sa.Column("next_run_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("trigger", sa.String(length=128), nullable=True),
        sa.Column("entered_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exit_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_journey_enrollment_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_journey_enrollment_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journey.id"],
            name=op.f("fk_journey_enrollment_journey_id_journey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_enrollment")),
        sa.UniqueConstraint(
            "journey_id", "contact_id", "run_no", name=op.f("uq_journey_enrollment_journey_id")
        ),
    )
    with op.batch_alter_table("journey_enrollment", schema=None) as batch_op:
        batch_op.create_index("ix_journey_enrollment_account", ["account_id"], unique=False)
        batch_op.create_index("ix_journey_enrollment_due", ["status", "next_run_at"], unique=False)

    op.create_table(
        "journey_step_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", JSON, nullable=False),
        sa.Column("at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["journey_enrollment.id"],
            name=op.f("fk_journey_step_run_enrollment_id_journey_enrollment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_step_run")),
        sa.UniqueConstraint(
            "enrollment_id", "step_id", name=op.f("uq_journey_step_run_enrollment_id")
        ),
    )
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("template_name", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("journey_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.String(length=64), nullable=True),
        sa.Column("variant", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", tenure.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_opened_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_clicked_at", tenure.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("machine_opens", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_message_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_message_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["journey_enrollment.id"],
            name=op.f("fk_message_enrollment_id_journey_enrollment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journey.id"],
            name=op.f("fk_message_journey_id_journey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_message_idempotency_key")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_account", ["account_id", "created_at"], unique=False)
        batch_op.create_index("ix_message_contact", ["contact_id", "created_at"], unique=False)
        batch_op.create_index("ix_message_journey", ["journey_id", "step_id"], unique=False)

    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("headers", JSON, nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_delivery_message_id_message"),
            "message",
            ["message_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("locale")

    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_alert_delivery_message_id_message"), type_="foreignkey"
        )
        batch_op.drop_column("message_id")
        batch_op.drop_column("headers")
        batch_op.drop_column("html_body")

    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_journey")
        batch_op.drop_index("ix_message_contact")
        batch_op.drop_index("ix_message_account")

    op.drop_table("message")
    op.drop_table("journey_step_run")
    with op.batch_alter_table("journey_enrollment", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_enrollment_due")
        batch_op.drop_index("ix_journey_enrollment_account")

    op.drop_table("journey_enrollment")
    with op.batch_alter_table("contact_consent", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_consent_lookup")

    op.drop_table("contact_consent")
    op.drop_table("suppression")
    op.drop_table("message_template")
    op.drop_table("journey")
