"""`tenure experiments` through the CLI: create, start, reweight, list, show, report, stop."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tenure.cli import experiments
from tenure.cli.main import app
from tenure.db.session import get_engine, session_scope
from tenure.experiments import results, service
from tenure.experiments.schemas import MetricKind, MetricSummary


@pytest.fixture
def run(cli, settings):
    """Return a function that runs `tenure --data-dir … ARGS` and checks the exit code."""
    if "experiments" not in {group.name for group in app.registered_groups}:
        experiments.register(app)

    def invoke(*args: str, code: int = 0):
        result = cli.invoke(app, ["--data-dir", str(settings.data_dir), *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_lifecycle_through_the_cli(run, settings, tmp_path):
    created = run("experiments", "create", "trial-nudge", "--name", "Trial nudge",
                  "--variant", "control=1", "--variant", "nudge=3", "--metric", "renewed",
                  "--target-units", "100", "--by", "cs@example.com")  # fmt: skip
    assert "draft, variants control (1), nudge (3)" in created.output
    run("experiments", "create", "trial-nudge", "--name", "again", code=2)  # key taken
    run("experiments", "create", "bad", "--name", "x", "--variant", "a=x", code=2)
    run("experiments", "create", "one", "--name", "x", "--variant", "only=1", code=2)
    assert "running" in run("experiments", "start", "trial-nudge").output
    run("experiments", "start", "trial-nudge", code=2)
    run("experiments", "reweight", "trial-nudge", "--variant", "control=1", "--variant", "nudge=1")
    listed = json.loads(run("experiments", "list", "--json").output)
    assert listed[0]["variants"] == [
        {"key": "control", "weight": 1.0},
        {"key": "nudge", "weight": 1.0},
    ]
    shown = json.loads(run("experiments", "show", "trial-nudge", "--json").output)
    assert shown["units"] == {
        "control": {"assigned": 0, "exposed": 0},
        "nudge": {"assigned": 0, "exposed": 0},
    }
    run("experiments", "show", "nope", code=4)
    assert "no metric summaries yet" in run("experiments", "report", "trial-nudge").output


def test_report_prints_lifts_srm_and_decision(run, settings):
    run("experiments", "create", "trial-nudge", "--name", "Trial nudge", "--metric", "renewed",
        "--variant", "control=1", "--variant", "nudge=1")  # fmt: skip
    run("experiments", "start", "trial-nudge")
    engine = get_engine(settings)
    with session_scope(engine) as session:
        experiment = service.get_experiment(db_session=session, key="trial-nudge")
        summaries = {
            "renewed": {
                "control": MetricSummary(1000, 800, 800),
                "nudge": MetricSummary(1000, 880, 880),
            }
        }
        results.store_summaries(db_session=session, experiment=experiment, as_of=date(2026, 12, 6),
                                summaries=summaries, kinds={"renewed": MetricKind.BINARY})  # fmt: skip
    engine.dispose()
    report = run("experiments", "report", "trial-nudge").output
    assert (
        "renewed" in report and "+10.0%" in report and "SRM p =" in report and "decision:" in report
    )
    as_json = json.loads(run("experiments", "report", "trial-nudge", "--json").output)
    lift = as_json["analysis"]["metrics"][0]["variants"][1]["lift"]
    assert lift == pytest.approx(0.1)
    run("experiments", "report", "trial-nudge", "--method", "magic", code=2)
    assert "stopped" in run("experiments", "stop", "trial-nudge").output
