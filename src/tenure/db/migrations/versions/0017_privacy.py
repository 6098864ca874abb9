"""privacy: hash-chained append-only audit log (hashes backfilled), encrypted stored secrets

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 17:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenure.db.base
from tenure.privacy.chain import GENESIS, entry_payload, link_hash

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = tenure.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

AUDIT = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("at", UTC_DATETIME),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
    sa.column("ip", sa.String),
    sa.column("detail", JSON),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)

SQLITE_GUARD = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
"""
PG_GUARD = (
    """
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
""",
)


def _backfill() -> tuple[int | None, str, int]:
    """Link the existing entries in id order; return the last id and hash and the count."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(AUDIT).order_by(AUDIT.c.id)).all()
    previous, last_id = GENESIS, None
    for row in rows:
        payload = entry_payload(
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            ip=row.ip,
            detail=row.detail,
        )
        digest = link_hash(previous, payload)
        bind.execute(
            sa.update(AUDIT).where(AUDIT.c.id == row.id).values(prev_hash=previous, hash=digest)
        )
        previous, last_id = digest, row.id
    return last_id, previous, len(rows)


def _chain_head(last_id: int | None, last_hash: str, length: int) -> None:
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.bulk_insert(head, [{"id": 1, "length": length, "last_id": last_id, "last_hash": last_hash}])


def _stored_secret() -> None:
    op.create_table(
        "stored_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("public", JSON, nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("rotated_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_secret")),
        sa.UniqueConstraint("name", name=op.f("uq_stored_secret_name")),
    )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    _chain_head(*_backfill())
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_log_prev_hash"), ["prev_hash"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_GUARD:
            op.execute(statement)
    else:
        op.execute(SQLITE_GUARD)
    _stored_secret()


def downgrade() -> None:
    """Revert this revision (the chain's hashes and the stored secrets are dropped)."""
    op.drop_table("stored_secret")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_append_only")
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("uq_audit_log_prev_hash"), type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
