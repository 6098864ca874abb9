"""`tenure health` end to end on a small simulated book: show, backtest, fit-weights, scorecards."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tenure.accounts.models import Account
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.health.models import HealthScore
from tenure.simulate import SimulationConfig, simulate

END = "2025-06-30"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> str:
    """Simulate 400 accounts × 8 months, import, score two days a week apart."""
    root = tmp_path_factory.mktemp("health-cli")
    simulate(SimulationConfig(end=date(2025, 6, 30), accounts=400, months=8, seed=5), root / "sim")
    data, runner = str(root / "data"), CliRunner()
    imported = runner.invoke(app, ["--data-dir", data, "import", "simulated", str(root / "sim")])
    assert imported.exit_code == 0, imported.output
    for day in ("2025-06-23", END):
        run = runner.invoke(
            app, ["--data-dir", data, "pipeline", "run", "--as-of", day, "--only", "health"]
        )
        assert run.exit_code == 0, run.output
    return data


def scored_account(data_dir: str) -> str:
    """Return the external id of an account scored on both days."""
    engine = get_engine(Settings(data_dir=data_dir))
    with session_scope(engine) as s:
        query = (
            select(Account.external_id)
            .join(HealthScore, HealthScore.account_id == Account.id)
            .group_by(Account.external_id)
            .having(func.count() == 2)
            .order_by(Account.external_id)
        )
        found = s.scalars(query.limit(1)).one()
    engine.dispose()
    return found


def invoke_json(data_dir: str, *args: str) -> dict:
    result = CliRunner().invoke(app, ["--data-dir", data_dir, "health", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_gives_the_tier_distribution_and_one_account_with_history(data_dir):
    overview = invoke_json(data_dir, "show")
    assert overview["as_of"] == END
    assert sum(overview["tiers"].values()) == overview["accounts"] > 300
    assert set(overview["tiers"]) <= {"red", "yellow", "green"}
    one = invoke_json(data_dir, "show", "--account", scored_account(data_dir))
    assert [h["as_of"] for h in one["history"]] == ["2025-06-23", END]
    assert one["change_7d"] == pytest.approx(
        one["history"][1]["score"] - one["history"][0]["score"]
    )
    assert "churn_probability" in one["missing"]  # no churn model yet: re-weighted away
    assert one["reason"]


def test_backtest_reports_auc_and_churn_rate_per_tier(data_dir):
    result = invoke_json(data_dir, "backtest", "--days", "4")
    assert 0.55 < result["auc"] <= 1.0
    tiers = result["tiers"]
    assert {"red", "green"} <= set(tiers)
    assert tiers["red"]["churn_rate"] > tiers["green"]["churn_rate"]
    total = sum(t["accounts"] for t in tiers.values())
    assert total == result["observations"]
    assert result["churn_model"] is None


def test_fit_weights_proposes_weights_with_an_out_of_time_backtest(data_dir):
    result = invoke_json(data_dir, "fit-weights", "--days", "4", "--apply")
    weights = result["proposed_weights"]
    assert sum(weights.values()) == pytest.approx(100, abs=0.5)
    assert set(weights) == set(result["current_weights"])
    assert result["test_date"] not in result["train_dates"]
    assert result["current"]["auc"] is not None and result["proposed"]["auc"] is not None
    assert result["applied"] is True
    shown = CliRunner().invoke(
        app, ["--data-dir", data_dir, "health", "scorecards", "show", "standard"]
    )
    stored = {m["name"]: m["weight"] for m in json.loads(shown.stdout)["measure"]}
    assert stored == {name: w for name, w in weights.items() if w > 0}


def test_scorecards_template_load_list_and_errors(data_dir, tmp_path):
    runner = CliRunner()
    template = runner.invoke(app, ["health", "scorecards", "template"])
    path = tmp_path / "cards.toml"
    path.write_text(template.stdout.replace('name = "standard"', 'name = "everyone"'))
    loaded = runner.invoke(app, ["--data-dir", data_dir, "health", "scorecards", "load", str(path)])
    assert loaded.exit_code == 0, loaded.output
    cards = json.loads(
        runner.invoke(
            app, ["--data-dir", data_dir, "health", "scorecards", "list", "--json"]
        ).stdout
    )
    assert [c["name"] for c in cards] == ["onboarding", "renewal", "everyone", "standard"]
    missing = runner.invoke(app, ["--data-dir", data_dir, "health", "show", "--account", "nope"])
    assert missing.exit_code == 4 and "nope" in missing.output
    bad = runner.invoke(app, ["--data-dir", data_dir, "health", "show", "--as-of", "30/06/2025"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
