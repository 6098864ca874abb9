"""`tenure audit verify|export|prune` on a real data dir."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from tenure.auth.service import audit
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope


def _seed(data, frozen_clock) -> list[int]:
    engine = get_engine(Settings(data_dir=data))
    migrate(engine)
    ids = []
    for day in range(4):
        with session_scope(engine) as session:
            ids.append(audit(session, actor="ann@example.com", action=f"act{day}").id)
        frozen_clock.advance(timedelta(days=100))
    engine.dispose()
    return ids


def test_verify_export_and_prune(cli, tmp_path, frozen_clock):
    data = tmp_path / "data"
    ids = _seed(data, frozen_clock)
    base = ["--data-dir", str(data), "audit"]
    ok = cli.invoke(app, [*base, "verify"])
    assert ok.exit_code == 0, ok.output
    assert f"intact, 4 entries (entries {ids[0]}…{ids[-1]})" in ok.output
    out = tmp_path / "audit.jsonl"
    exported = cli.invoke(app, [*base, "export", "--out", str(out), "--since", "2025-10-09"])
    assert exported.exit_code == 0 and "2 entries" in exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["action"] for row in rows] == ["act2", "act3"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    unset = cli.invoke(app, [*base, "prune"])
    assert unset.exit_code != 0 and "audit_retention_days" in unset.output
    pruned = cli.invoke(app, [*base, "prune"], env={"TENURE_AUDIT_RETENTION_DAYS": "250"})
    assert pruned.exit_code == 0 and "2 entries older than" in pruned.output
    again = cli.invoke(app, [*base, "verify", "--json"])
    report = json.loads(again.output)
    assert report["intact"] and report["pruned_through"] == ids[1] and report["entries"] == 3


def test_verify_names_the_first_broken_entry(cli, tmp_path, frozen_clock):
    data = tmp_path / "data"
    ids = _seed(data, frozen_clock)
    engine = get_engine(Settings(data_dir=data))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    engine.dispose()
    broken = cli.invoke(app, ["--data-dir", str(data), "audit", "verify"])
    assert broken.exit_code == 65
    assert f"entry id {ids[2]}" in broken.output and "deleted" in broken.output
