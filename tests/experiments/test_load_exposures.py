"""`tenure experiments start --at` and `load-exposures`: exposures recorded elsewhere load once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tenure.cli import experiments
from tenure.cli.main import app
from tenure.db.session import get_engine, session_scope
from tenure.experiments.models import ExperimentAssignment, ExperimentExposure

GOOD = ["a1,nudge,2025-03-02", "a2,control,2025-03-05T10:00:00Z", "a3,nudge,2025-03-03"]
BAD = ["a4,,2025-03-02", "a5,bogus,2025-03-02", "a6,nudge,soon", "a7,nudge,2025-01-01"]


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


def _file(tmp_path, lines, name="exposures.csv"):
    path = tmp_path / name
    path.write_text("account,arm,first_seen\n" + "\n".join(lines) + "\n")
    return str(path)


def _stored(settings):
    with session_scope(get_engine(settings)) as session:
        exposed = session.execute(
            sa.select(ExperimentExposure.unit_id, ExperimentExposure.variant)
        ).all()
        assigned = session.scalar(sa.select(sa.func.count()).select_from(ExperimentAssignment))
    return sorted(exposed), assigned


def test_past_exposures_load_once_and_bad_rows_are_named(run, settings, tmp_path):
    """Valid rows land; each bad row is named by line, column and reason; a rerun adds none."""
    run("experiments", "create", "nudge", "--name", "Nudge", "--variant", "control=1",
        "--variant", "nudge=1")  # fmt: skip
    options = ["--unit", "account", "--variant", "arm", "--exposed-at", "first_seen"]
    mixed = _file(tmp_path, GOOD + BAD)
    draft = run("experiments", "load-exposures", "nudge", mixed, *options, code=2)
    assert "draft" in draft.output
    run("experiments", "start", "nudge", "--at", "2099-01-01", code=2)  # not in the past
    assert "since 2025-03-01 00:00 UTC" in run("experiments", "start", "nudge", "--at",
                                                "2025-03-01").output  # fmt: skip
    loaded = run("experiments", "load-exposures", "nudge", mixed, *options, code=3)
    assert "3 exposures recorded, 0 already there, 4 rows refused" in loaded.output
    for expected in (
        "line 5, arm: variant missing is not one of control, nudge",
        "line 6, arm: variant 'bogus' is not one of control, nudge",
        "line 7, first_seen: not a date or time: 'soon'",
        "line 8, first_seen: before the experiment started (2025-03-01 00:00 UTC)",
    ):
        assert expected in loaded.output
    assert _stored(settings) == ([("a1", "nudge"), ("a2", "control"), ("a3", "nudge")], 3)
    again = run("experiments", "load-exposures", "nudge", _file(tmp_path, GOOD), *options)
    assert "0 exposures recorded, 3 already there, 0 rows refused" in again.output
    moved = _file(tmp_path, ["a1,control,2025-03-04"], "moved.csv")
    clash = run("experiments", "load-exposures", "nudge", moved, *options, code=3)
    assert "account a1: already assigned to 'nudge'" in clash.output
    assert _stored(settings)[1] == 3


def test_missing_columns_are_named(run, tmp_path):
    """A file without the named columns is refused with the columns it has (exit 2)."""
    run("experiments", "create", "nudge", "--name", "Nudge")
    run("experiments", "start", "nudge")
    result = run("experiments", "load-exposures", "nudge", _file(tmp_path, GOOD), code=2)
    assert "no column 'unit_id', 'variant', 'exposed_at'" in result.output
    assert "columns: account, arm, first_seen" in result.output
