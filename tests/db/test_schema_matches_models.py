"""The migrations build exactly the schema the ORM models declare (no drift between the two)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tenure.db.registry import Base


def test_migrated_schema_matches_models(engine):
    """Alembic finds nothing to add, drop or alter after migrating to head."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
