"""The pipeline's metrics stage: months and cohorts stored as known on the as-of day."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.errors import NotFound
from tenure.metrics import serving


@pytest.fixture
def sim_book(cli, tmp_path, frozen_clock):
    """Simulate 200 accounts × 6 months ending 2025-06-30 and import them; return data dir."""
    data, out = str(tmp_path / "data"), tmp_path / "sim"
    args = ["simulate", "--accounts", "200", "--months", "6", "--seed", "4", "--out", str(out),
            "--end", "2025-06-30"]  # fmt: skip
    assert cli.invoke(app, args).exit_code == 0
    imported = cli.invoke(app, ["--data-dir", data, "import", "simulated", str(out)])
    assert imported.exit_code in (0, 3), imported.output
    return data


def _run(cli, data, *args):
    result = cli.invoke(app, ["--data-dir", data, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_stage_stores_what_metrics_summary_prints(cli, sim_book):
    """Each stored month equals `metrics summary --json` for it; cohorts are stored too."""
    out = _run(cli, sim_book, "pipeline", "run", "--as-of", "2025-06-30", "--only", "metrics",
               "--json")  # fmt: skip
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stage"] == "metrics" and summary["last_month"] == "2025-06"
    printed = json.loads(_run(cli, sim_book, "metrics", "summary", "--month", "2025-05", "--json"))
    engine = _engine(sim_book)
    with session_scope(engine) as session:
        stored = serving.stored_month(session, date(2025, 5, 1))
        months = serving.stored_months(session, date(2025, 3, 1), date(2025, 6, 1))
        cohorts = serving.stored_snapshot(session, "cohorts")
    assert stored == printed
    assert [m["month"] for m in months] == ["2025-03", "2025-04", "2025-05", "2025-06"]
    assert cohorts["as_of"] == "2025-06-30" and cohorts["cohorts"]
    assert {"ltv_survival", "expected_lifetime_months", "nps", "cac"} <= set(stored)


def test_stage_as_of_mid_month_stores_only_complete_months(cli, sim_book):
    """As of 2025-05-20 the last stored month is April, computed without later data."""
    _run(cli, sim_book, "pipeline", "run", "--as-of", "2025-05-20", "--only", "metrics")
    with session_scope(_engine(sim_book)) as session:
        months = [m["month"] for m in serving.stored_months(session)]
        with pytest.raises(NotFound, match="2025-05"):
            serving.stored_month(session, date(2025, 5, 1))
    assert months[-1] == "2025-04"


def test_rerun_replaces_rows(cli, sim_book):
    """Running the same day twice leaves one row per month."""
    for _ in range(2):
        _run(cli, sim_book, "pipeline", "run", "--as-of", "2025-06-30", "--only", "metrics")
    with session_scope(_engine(sim_book)) as session:
        months = [m["month"] for m in serving.stored_months(session)]
    assert len(months) == len(set(months))


def _engine(data):
    from tenure.config import Settings
    from tenure.db.session import get_engine

    return get_engine(Settings(data_dir=data))
