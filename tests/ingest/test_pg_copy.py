"""PostgreSQL's COPY upsert lands the same rows as SQLite's executemany path, updates included."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine
from tenure.ingest.load import MODELS
from tenure.ingest.spec import ALL_KINDS

ENTITY_KINDS = [kind for kind in ALL_KINDS if kind != "events"]


def _entities(engine: sa.Engine) -> dict[str, list[dict]]:
    """Return every entity kind's rows through the ORM (aware UTC times, JSON as dicts)."""
    out = {}
    with Session(engine) as session:
        for kind in ENTITY_KINDS:
            model = MODELS[kind]
            rows = session.scalars(sa.select(model).order_by(model.external_id)).all()
            # ids aside: PostgreSQL's sequence also advances on a conflicting insert
            columns = [c.key for c in model.__table__.columns if c.key != "id"]
            out[kind] = [{c: getattr(row, c) for c in columns} for row in rows]
    return out


def _load_twice(settings: Settings, files, run_import, changed: Path) -> dict[str, list[dict]]:
    """Import every sample kind, then a changed accounts file; return the entities."""
    engine = get_engine(settings)
    migrate(engine)
    try:
        for kind in ALL_KINDS:
            result = run_import(settings, engine, kind, files.sample(kind))
            assert result.exit_code == 0, (kind, result)
        result = run_import(settings, engine, "accounts", changed)
        assert (result.rows_inserted, result.rows_updated) == (1, 1), result
        return _entities(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.usefixtures("frozen_clock")
def test_copy_upsert_matches_sqlite(tmp_path, files, run_import, pg_url):
    changed = files.csv(
        "accounts_changed.csv",
        ["account_id", "name", "created_at", "industry", "region", "owner", "employees", "tier"],
        [
            ["a2", 'Beta, "renamed"', "2024-02-01T23:30:00-03:00", "", "amer", "bo", "", "gold"],
            ["a9", "Nine", "2024-05-01", "media", "", "", "42", ""],
        ],
    )
    on_sqlite = _load_twice(Settings(data_dir=tmp_path / "lite"), files, run_import, changed)
    on_postgres = _load_twice(
        Settings(data_dir=tmp_path / "pg", database_url=pg_url), files, run_import, changed
    )
    assert on_postgres == on_sqlite
    beta = next(a for a in on_postgres["accounts"] if a["external_id"] == "a2")
    assert beta["name"] == 'Beta, "renamed"'
    assert beta["created_at"].isoformat() == "2024-02-02T02:30:00+00:00"
    assert beta["attributes"] == {"tier": "gold"}  # the null employees attribute is not kept
