"""The audit log's hash chain: links, tamper detection, parallel writers, pruning, backfill."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from tenure.auth.models import AuditEntry
from tenure.auth.service import audit
from tenure.db.migrate import alembic_config, migrate
from tenure.db.session import get_engine, session_scope
from tenure.privacy.audit import prune_entries, verify_chain
from tenure.privacy.chain import GENESIS


def _append(engine: sa.Engine, count: int, actor: str = "ann@example.com") -> list[int]:
    ids = []
    for number in range(count):
        with session_scope(engine) as session:
            entry = audit(session, actor=actor, action="login", detail={"n": number, "x": 1.5})
            ids.append(entry.id)
    return ids


def _verify(engine: sa.Engine):
    with session_scope(engine) as session:
        return verify_chain(session)


def _unguard(engine: sa.Engine) -> None:
    """Drop the append-only trigger, as someone with full access to the database could."""
    suffix = " ON audit_log" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TRIGGER audit_log_append_only{suffix}")


def test_each_entry_hashes_the_previous_hash_and_its_canonical_json(engine, frozen_clock):
    ids = _append(engine, 3)
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [row.id for row in rows] == ids
    assert rows[0].prev_hash == GENESIS
    # An independent recomputation of the documented formula.
    canonical = json.dumps(
        {
            "action": "login",
            "actor": "ann@example.com",
            "at": "2025-06-30T12:00:00.000000+00:00",
            "detail": {"n": 0, "x": 1.5},
            "ip": None,
            "target": None,
        },
        separators=(",", ":"),
    )
    assert rows[0].hash == hashlib.sha256((GENESIS + canonical).encode()).hexdigest()
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]
    report = _verify(engine)
    assert report.intact and report.entries == 3 and report.last_id == ids[-1]


def test_updates_are_refused_by_the_database(any_engine):
    (entry_id,) = _append(any_engine, 1)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), any_engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'eve' WHERE id = :id"), {"id": entry_id})


def test_an_edited_entry_is_named(engine):
    ids = _append(engine, 4)
    _unguard(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'eve' WHERE id = :id"), {"id": ids[2]})
    report = _verify(engine)
    assert not report.intact
    assert report.broken_id == ids[2]
    assert "edited" in report.reason


def test_a_deleted_entry_names_the_one_after_it(engine):
    ids = _append(engine, 4)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    report = _verify(engine)
    assert not report.intact and report.broken_id == ids[2]
    assert f"follow entry {ids[0]}" in report.reason


def test_deleting_the_newest_entries_is_seen_at_the_head(engine):
    ids = _append(engine, 3)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[2]})
    report = _verify(engine)
    assert not report.intact and report.broken_id == ids[2]


def test_an_entry_inserted_out_of_chain_is_named(engine):
    _append(engine, 2)
    forged = "f" * 64
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (at, actor, action, detail, prev_hash, hash)"
                " VALUES ('2025-06-30 12:00:00', 'eve', 'login', '{}', :p, :h)"
            ),
            {"p": forged, "h": forged},
        )
        forged_id = conn.scalar(sa.text("SELECT max(id) FROM audit_log"))
    report = _verify(engine)
    assert not report.intact and report.broken_id == forged_id


def test_parallel_writers_do_not_fork_the_chain(any_engine):
    writers, each = 4, 8
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            start.wait()
            _append(any_engine, each, actor=f"writer{number}@example.com")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = _verify(any_engine)
    assert report.intact, report.reason
    assert report.entries == writers * each


def test_pruning_keeps_the_chain_verifiable_through_an_anchor(engine, frozen_clock):
    old = _append(engine, 3)
    frozen_clock.advance(timedelta(days=400))
    kept = _append(engine, 2)
    with session_scope(engine) as session:
        pruned = prune_entries(session, frozen_clock.now() - timedelta(days=365))
    assert pruned == 3
    report = _verify(engine)
    assert report.intact, report.reason
    assert report.pruned_through == old[-1] and report.first_id == kept[0]
    assert report.entries == 3  # two kept and the anchor
    with engine.begin() as conn:  # removing the anchor too leaves a chain with no start
        conn.execute(sa.text("DELETE FROM audit_log WHERE action = 'audit_prune'"))
    broken = _verify(engine)
    assert not broken.intact and broken.broken_id == kept[0]


@pytest.mark.fresh_app_db
def test_the_migration_backfills_hashes_of_existing_entries(settings):
    engine = get_engine(settings)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0013")
    with engine.begin() as conn:
        for actor in ("ann@example.com", "bob@example.com"):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (at, actor, action, detail)"
                    " VALUES ('2025-01-02 03:04:05.000006', :a, 'login', '{\"k\": [1, 2]}')"
                ),
                {"a": actor},
            )
    migrate(engine)
    report = _verify(engine)
    assert report.intact and report.entries == 2
    _append(engine, 1)
    assert _verify(engine).entries == 3
    engine.dispose()
