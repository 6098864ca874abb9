"""An empty book: `tenure init`, then every pipeline stage and the scheduler run on no data."""

from __future__ import annotations

import json

from tenure import pipeline
from tenure.cli.main import app
from tenure.db.session import get_engine, session_scope


def _tenure(cli, settings, *args):
    """Invoke the CLI on the test's data dir; return the result."""
    return cli.invoke(app, ["--data-dir", str(settings.data_dir), *args])


def test_every_stage_runs_on_a_fresh_data_dir_with_no_data(cli, settings, frozen_clock):
    """Init then `pipeline run`: each stage runs, is logged ok, and reports nothing found."""
    assert _tenure(cli, settings, "init").exit_code == 0
    result = _tenure(cli, settings, "pipeline", "run", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [x["stage"] for x in lines] == [s.key for s in pipeline.STAGES]
    by_stage = {x["stage"]: x for x in lines}
    assert by_stage["features"]["accounts"] == 0
    with session_scope(get_engine(settings)) as session:
        assert {r.status for r in pipeline.last_runs(session)} == {"ok"}


def test_the_scheduler_runs_its_jobs_once_on_an_empty_book(cli, settings, frozen_clock):
    """`scheduler --once` on a fresh data dir completes the pipeline day and exits 0."""
    assert _tenure(cli, settings, "init").exit_code == 0
    result = _tenure(cli, settings, "scheduler", "--once")
    assert result.exit_code == 0, result.output
    assert "pipeline: 2025-06-30" in result.output
