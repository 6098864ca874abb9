"""PostgreSQL's COPY upsert lands the same rows as SQLite's executemany path, updates included."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine
from tenure.ingest import pg_bulk
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


CATALOG = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE connamespace = current_schema()::regnamespace
UNION ALL
SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
"""


def _catalog(url: str) -> list[tuple]:
    """Return every constraint and index definition of the schema of url."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = sorted(tuple(r) for r in conn.execute(sa.text(CATALOG)))
    engine.dispose()
    return found


@pytest.mark.postgres
@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("bulk_rows", [pg_bulk.BULK_ROWS, 0], ids=["merge", "bulk"])
def test_copy_upsert_matches_sqlite(tmp_path, files, run_import, pg_url, bulk_rows, monkeypatch):
    """Both the plain merge and the bulk path (threshold 0: every first load) land SQLite's rows."""
    monkeypatch.setattr(pg_bulk, "BULK_ROWS", bulk_rows)
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


@pytest.mark.postgres
@pytest.mark.usefixtures("frozen_clock")
def test_bulk_load_puts_back_every_constraint_and_index(tmp_path, files, run_import, pg_url,
                                                        monkeypatch):  # fmt: skip
    """After bulk loads the schema's constraints and indexes are those of a fresh migration."""
    settings = Settings(data_dir=tmp_path / "pg", database_url=pg_url)
    engine = get_engine(settings)
    migrate(engine)
    before = _catalog(pg_url)
    monkeypatch.setattr(pg_bulk, "BULK_ROWS", 0)
    aside = []
    monkeypatch.setattr(pg_bulk, "put_back", lambda cursor, a, put=pg_bulk.put_back: (
        aside.append(a.table), put(cursor, a)))  # fmt: skip
    for kind in ALL_KINDS:
        assert run_import(settings, engine, kind, files.sample(kind)).exit_code == 0, kind
    engine.dispose()
    assert {'"account"', '"subscription"'} <= set(aside)
    assert _catalog(pg_url) == before
    assert any("FOREIGN KEY" in d for _, _, d in before)


def test_only_a_big_load_that_at_least_doubles_the_table_goes_bulk():
    """Bulk needs surely more new rows (staged − existing) than the threshold and the table."""
    assert pg_bulk.is_bulk(200_001, 0, 200_000)
    assert pg_bulk.is_bulk(600_000, 300_000, 200_000)
    assert not pg_bulk.is_bulk(200_000, 0, 200_000)
    assert not pg_bulk.is_bulk(599_999, 300_000, 200_000)
    assert not pg_bulk.is_bulk(1_000_000, 1_000_000, 200_000)  # a re-import
