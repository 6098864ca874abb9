"""`tenure pipeline run`: stage selection, day ranges, and the run log."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tenure.cli.main import app
from tenure.db.session import get_engine, session_scope
from tenure.errors import InputError
from tenure.warehouse import pipeline


def failing_stage(context):
    """A stage that refuses its input."""
    raise InputError(f"no events for {context.as_of}")


def counting_stage(context):
    """A stage that reports its day."""
    return {"day": context.as_of.isoformat()}


@pytest.fixture
def test_stages(monkeypatch):
    """Run two stages defined here besides the real sync."""
    stages = (
        ("sync", "tenure.warehouse.pipeline:sync_stage"),
        ("count", f"{__name__}:counting_stage"),
        ("fail", f"{__name__}:failing_stage"),
    )
    monkeypatch.setattr(pipeline, "STAGES", stages)


def _invoke(cli, settings, *args):
    return cli.invoke(app, ["--data-dir", str(settings.data_dir), "pipeline", "run", *args])


def test_backfill_runs_each_day_in_order_and_logs_it(cli, settings, test_stages, frozen_clock):
    """--from/--to runs the chosen stages day by day; each run is logged as ok."""
    result = _invoke(cli, settings, "--from", "2025-06-01", "--to", "2025-06-03", "--skip", "fail",
                     "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["as_of"], x["stage"]) for x in lines] == [
        (f"2025-06-0{d}", stage) for d in (1, 2, 3) for stage in ("sync", "count")
    ]
    with session_scope(get_engine(settings)) as session:
        runs = pipeline.last_runs(session)
        assert {r.status for r in runs} == {"ok"} and len(runs) == 6
        assert pipeline.last_success(session).summary == {"day": "2025-06-03"}


def test_failing_stage_is_logged_and_stops_the_day(cli, settings, test_stages):
    """A stage's InputError exits 2 with its message; the log says failed and why."""
    result = _invoke(cli, settings, "--as-of", "2025-06-01", "--only", "fail")
    assert result.exit_code == 2 and "no events for 2025-06-01" in result.output
    with session_scope(get_engine(settings)) as session:
        (run,) = pipeline.last_runs(session)
        assert (run.stage, run.status, run.as_of) == ("fail", "failed", date(2025, 6, 1))
        assert run.error == "no events for 2025-06-01" and run.finished_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "nope"], "unknown pipeline stage 'nope'"),
        (["--as-of", "2025-06-01", "--from", "2025-06-01"], "not both"),
        (["--from", "2025-06-01"], "go together"),
        (["--from", "2025-06-02", "--to", "2025-06-01"], "before --from"),
        (["--as-of", "June"], "not a date"),
    ],
)
def test_bad_options_exit_2(cli, settings, args, message):
    """Unknown stages, mixed or reversed ranges and bad dates are refused clearly."""
    result = _invoke(cli, settings, *args)
    assert result.exit_code == 2 and message in result.output
