"""The Parquet events for Spark: written by day, only changed days rewritten, kept by `sync`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import Settings
from tenure.stage import StageContext
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.parquet_events import MANIFEST, export_event_days
from tenure.warehouse.stages.events import warehouse_events

DAYS = 3
PER_DAY = 48  # one event every 30 minutes


def _fill(settings: Settings, per_day: int = PER_DAY) -> None:
    """Insert per_day events on each of DAYS days (2025-01-01 …), spread over the day."""
    with open_warehouse(settings) as warehouse:
        warehouse.con.execute(
            "INSERT INTO events SELECT 'm' || i, i % 5, 'a', 'c' || (i % 3), 'login',"
            " TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_minutes(CAST(i * $step AS BIGINT)),"
            " '{}', 'test', now(), NULL FROM range($n) t(i)",
            {"n": per_day * DAYS, "step": 1440 // per_day},
        )


def _add(settings: Settings, message_id: str, ts: str) -> None:
    with open_warehouse(settings) as warehouse:
        warehouse.con.execute(
            "INSERT INTO events VALUES ($m, 1, 'a', NULL, 'late', CAST($ts AS TIMESTAMPTZ), '{}',"
            " 'test', now(), NULL)",
            {"m": message_id, "ts": ts},
        )


def _export(settings: Settings, out: Path, since: date | None = None):
    with open_warehouse(settings, read_only=True) as warehouse:
        return export_event_days(warehouse.con, out, since)


def _read(out: Path) -> dict[str, int]:
    """Return rows per day as Spark would see them (hive partitions, `_`/`.` names skipped)."""
    rows = duckdb.sql(
        f"SELECT CAST(day AS VARCHAR), count(*) FROM read_parquet('{out}/day=*/*.parquet',"
        " hive_partitioning = true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return dict(rows)


def _mtimes(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("day=*/*.parquet")}


def test_a_rerun_writes_nothing_and_a_late_event_rewrites_only_its_day(settings, tmp_path):
    _fill(settings)
    out = tmp_path / "events"
    first = _export(settings, out)
    assert len(first.written) == DAYS and first.rows == PER_DAY * DAYS
    assert _read(out) == {f"2025-01-0{d}": PER_DAY for d in range(1, DAYS + 1)}
    before = _mtimes(out)

    again = _export(settings, out)
    assert (again.written, again.removed, again.unchanged) == ([], [], DAYS)
    assert _mtimes(out) == before

    _add(settings, "late-1", "2025-01-02 23:59:59+00")
    late = _export(settings, out)
    assert late.written == [date(2025, 1, 2)] and late.rows == PER_DAY + 1
    after = _mtimes(out)
    assert after["day=2025-01-02"] != before["day=2025-01-02"]
    assert {k: v for k, v in after.items() if k != "day=2025-01-02"} == {
        k: v for k, v in before.items() if k != "day=2025-01-02"
    }
    assert _read(out)["2025-01-02"] == PER_DAY + 1
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


def test_deleted_days_are_removed_and_since_limits_the_scan(settings, tmp_path):
    _fill(settings)
    out = tmp_path / "events"
    _export(settings, out)
    with open_warehouse(settings) as warehouse:
        warehouse.con.execute("DELETE FROM events WHERE ts >= TIMESTAMPTZ '2025-01-03 00:00:00+00'")
        warehouse.con.execute("DELETE FROM events WHERE message_id = 'm0'")
    partial = _export(settings, out, since=date(2025, 1, 2))
    assert partial.removed == [date(2025, 1, 3)] and partial.written == []
    assert _read(out) == {"2025-01-01": PER_DAY, "2025-01-02": PER_DAY}  # day 1 is before --since
    full = _export(settings, out)
    assert full.written == [date(2025, 1, 1)]
    assert _read(out) == {"2025-01-01": PER_DAY - 1, "2025-01-02": PER_DAY}
    assert (out / MANIFEST).exists()


def test_the_cli_and_the_sync_stage_keep_the_parquet_current(settings, engine, tmp_path):
    _fill(settings)
    out = tmp_path / "events"
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir), "warehouse", "export-events"]
    result = runner.invoke(app, [*base, "--to", str(out), "--since", "2025-01-02"])
    assert result.exit_code == 0, result.output
    assert f"2 days written ({2 * PER_DAY} events)" in result.output
    assert sorted(_read(out)) == ["2025-01-02", "2025-01-03"]
    bad = runner.invoke(app, [*base, "--to", str(out), "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since" in bad.output
    no_target = runner.invoke(app, base)
    assert no_target.exit_code == 78, no_target.output

    _add(settings, "late-2", "2025-01-01 12:00:00+00")
    spark = settings.model_copy(update={"warehouse_url": f"spark://local[2]?events={out}"})
    summary = warehouse_events(StageContext(settings=spark, engine=engine, as_of=date(2025, 1, 3)))
    assert summary["parquet"]["days_written"] == 1  # day 1, never written before, late event in
    assert _read(out)["2025-01-01"] == PER_DAY + 1
    plain = warehouse_events(StageContext(settings=settings, engine=engine, as_of=date(2025, 1, 3)))
    assert "parquet" not in plain
