"""A simulated closed loop's plays come in as play history and are judged and measured."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.ingest.simulated_plays import SIMULATED_PLAYS, decision_runs
from tenure.plays.models import Play, PlayRun

END = date(2025, 6, 30)  # the frozen clock's day
POLICY = """ranking = "churn"
holdout_share = 0.3
at_risk_share = 0.3
plays = ["csm_call", "adoption_journey", "support_escalation", "dunning"]
"""


def _simulate(cli, tmp_path: Path) -> Path:
    policy, out = tmp_path / "policy.toml", tmp_path / "sim"
    policy.write_text(POLICY)
    made = cli.invoke(app, ["simulate", "--accounts", "200", "--months", "5", "--seed", "5",
                            "--end", END.isoformat(), "--policy", str(policy),
                            "--arm", "nudge:0.3:0.3:0.1", "--out", str(out)])  # fmt: skip
    assert made.exit_code == 0, made.output
    return out


def _runs(data: str) -> list[tuple[str, str, date, str, bool | None]]:
    engine = get_engine(Settings(data_dir=Path(data)))
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(
                Play.key, PlayRun.arm, PlayRun.started_on, PlayRun.status, PlayRun.retained
            ).join(Play, Play.id == PlayRun.play_id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.slow
@pytest.mark.usefixtures("frozen_clock")
def test_import_brings_the_loops_runs_in_and_the_stage_judges_them(cli, tmp_path):
    out, data = _simulate(cli, tmp_path), str(tmp_path / "data")
    truth = decision_runs(pd.read_parquet(out / "play_truth.parquet"))
    assert {"treated", "holdout"} == set(truth["arm"])

    imported = cli.invoke(app, ["--data-dir", data, "import", "simulated", str(out)])
    assert imported.exit_code in (0, 3), imported.output
    runs = _runs(data)
    # every imported run is one decision row: same play (mapped), arm and day
    expected = {(SIMULATED_PLAYS[p], a, d.date() if hasattr(d, "date") else d)
                for p, a, d in zip(truth["play"], truth["arm"], truth["date"], strict=True)}  # fmt: skip
    got = {(key, arm, started) for key, arm, started, _, _ in runs}
    assert got <= expected and len(got) >= 0.9 * len(expected)  # churned-before accounts left out
    assert {arm for _, arm, _, _, _ in runs} == {"treated", "holdout"}
    assert f"{len(runs)} new runs" in imported.stdout

    again = cli.invoke(app, ["--data-dir", data, "import", "simulated", str(out)])
    assert "0 new runs" in again.stdout and len(_runs(data)) == len(runs)

    judged = cli.invoke(app, ["--data-dir", data, "pipeline", "run", "--only", "plays"])
    assert judged.exit_code == 0, judged.output
    after = _runs(data)
    ended = [r for r in after if r[3] == "ended"]
    assert ended and all(r[4] is not None for r in ended)
    assert all(r[3] == "active" for r in after if (END - r[2]).days < 90)

    report = json.loads(cli.invoke(app, ["--data-dir", data, "plays", "report", "--json"]).stdout)
    lines = {line["play"]: line for line in report}
    call = lines["red-health-call"]
    assert call["treated"] > 0 and call["holdout"] > 0 and call["cost"] > 0
