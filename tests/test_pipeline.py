"""`tenure pipeline run`: stage selection, day ranges, and the run log."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tenure import pipeline
from tenure.alerts.flows import opened_alerts
from tenure.cli.main import app
from tenure.db.registry import Base
from tenure.db.session import get_engine, session_scope
from tenure.errors import InputError
from tenure.stage import StageContext, stage
from tenure.warehouse import catalog
from tenure.warehouse.stages.events import warehouse_events


@stage("fail", reads=(), writes=())
def failing_stage(context):
    """A stage that refuses its input."""
    raise InputError(f"no events for {context.as_of}")


@stage("count", reads=(), writes=())
def counting_stage(context):
    """A stage that reports its day."""
    return {"day": context.as_of.isoformat()}


@pytest.fixture
def test_stages(monkeypatch):
    """Run two stages defined here besides the real sync."""
    monkeypatch.setattr(pipeline, "STAGES", (warehouse_events, counting_stage, failing_stage))


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


def test_cli_keys_stay_the_names_users_script_against():
    """--only/--skip keep taking the stage keys users' scripts use, in the order they run."""
    keys = [s.key for s in pipeline.STAGES]
    assert keys == [
        "sync", "recent", "features", "scores", "metrics", "health", "loyalty", "segments",
        "experiments", "alerts", "plays", "journeys", "risks", "history", "retention",
    ]  # fmt: skip
    assert [s.name for s in pipeline.select_stages(only=["health", "sync"])] == [
        "warehouse_events",
        "health_scores",
    ]


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


# --- every stage declares catalog tables, and reads only what exists by its turn -------------


def misplaced_reads(stages) -> list[str]:
    """Return "stage reads table" for reads neither a source nor written by then.

    A stage may read what it writes itself (its earlier days' rows); `reads_earlier_runs` must
    name tables written by a stage that runs later the same day (else it is an ordinary read).
    """
    written: set = set()
    problems = []
    for step in stages:
        for dataset in step.reads:
            if not (dataset.source or dataset in written or dataset in step.writes):
                problems.append(f"{step.key} reads {dataset}")
        later = {d for s in stages[stages.index(step) + 1 :] for d in s.writes}
        for dataset in step.reads_earlier_runs:
            if dataset not in later:
                problems.append(f"{step.key} reads {dataset} of earlier runs")
        written.update(step.writes)
    return problems


def test_every_stage_declares_tables_the_catalog_knows():
    """Each read and write is a catalog dataset, and each stage writes at least one table."""
    known = set(catalog.DATASETS)
    for step in pipeline.STAGES:
        declared = {*step.reads, *step.writes, *step.reads_earlier_runs}
        assert step.writes and declared <= known, (step.key, declared - known)
    used = {d for s in pipeline.STAGES for d in (*s.reads, *s.writes, *s.reads_earlier_runs)}
    assert used == known  # no dataset in the catalog that no stage touches


def test_stages_read_sources_or_what_an_earlier_stage_wrote():
    """In pipeline order, a read is a source or an earlier stage's output; reversed it is not."""
    assert misplaced_reads(pipeline.STAGES) == []
    backwards = misplaced_reads(tuple(reversed(pipeline.STAGES)))
    assert "scores reads warehouse.features_YYYYMMDD" in backwards
    assert "alerts reads app.health_score" in backwards


def test_catalog_datasets_name_real_tables():
    """App datasets are app-DB tables; the per-day feature table follows the catalog pattern."""
    app_tables = set(Base.metadata.tables)
    for dataset in catalog.DATASETS:
        if dataset.store == "app":
            assert dataset.name in app_tables, dataset
    assert catalog.WAREHOUSE_EVENTS.name in catalog.EVENTS_DDL
    day_table = catalog.feature_table_name(date(2025, 6, 30))
    assert day_table == "features_20250630"
    assert len(day_table) == len(catalog.CHURN_FEATURES.name)
    assert catalog.CHURN_FEATURES.name.startswith(catalog.FEATURE_TABLE_PREFIX)


def test_alerts_stage_asks_the_worker_to_send_except_on_backfill_days(
    settings, engine, frozen_clock
):
    """The pipeline (not the alerts domain) wakes the task worker after the alerts step."""
    queue_file = settings.data_dir / "tasks.db"
    day = frozen_clock.now().date()
    old = StageContext(settings=settings, engine=engine, as_of=day - timedelta(days=30))
    list(pipeline.run_day(old, [opened_alerts]))
    assert not queue_file.exists()
    today = StageContext(settings=settings, engine=engine, as_of=day)
    list(pipeline.run_day(today, [opened_alerts]))
    assert queue_file.exists()
