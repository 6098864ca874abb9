"""End to end: simulate a book with two arms, import it, and recover the known effects."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.errors import InputError
from tenure.experiments.simulated import simulated_report
from tenure.simulate import SimulationConfig, simulate
from tenure.simulate.config import parse_arm

END = date(2025, 7, 1)
# Simulating and importing 3,000 accounts takes about a minute on a loaded machine.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    """Return a 3,000-account book (arm a: hazards −50 %, arm b: usage −30 %), imported."""
    root = tmp_path_factory.mktemp("ab_book")
    arms = (parse_arm("a:0.4:0.5"), parse_arm("b:0.2:0:-0.3"))
    config = SimulationConfig(
        accounts=3000, months=6, seed=21, end=END, treatment_arms=arms,
        treatment_start=date(2025, 2, 1), events_per_seat_day=0.04,
    )  # fmt: skip
    simulate(config, root / "sim")
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    assert result.exit_code == 0, result.output
    return root / "sim", Settings(data_dir=data)


@pytest.fixture(scope="module")
def report(book):
    sim, settings = book
    engine = get_engine(settings)
    try:
        return simulated_report(sim, settings, engine, metrics=["churn_90d", "events_30d"])
    finally:
        engine.dispose()


def test_true_churn_effect_lies_in_the_interval(report):
    by_arm = {row.arm: row for row in report.churn}
    assert set(by_arm) == {"control", "a", "b"}
    a, b = by_arm["a"], by_arm["b"]
    assert a.true_lift == pytest.approx(-0.5, abs=0.12)  # hazards halved: a bit less than −50 %
    assert b.true_lift == pytest.approx(0.0, abs=1e-6)  # b leaves churn alone
    for arm in (a, b):
        assert arm.covered, arm
        assert arm.ci_high - arm.ci_low < 1.5  # an interval that says something
    assert a.ci_high < 0  # the churn cut is detected
    # Observed rates are near each arm's own exact mean probability.
    for row in report.churn:
        assert abs(row.observed_rate - row.true_rate) < 4 * (row.true_rate / row.units) ** 0.5


def test_usage_effect_is_recovered(report):
    events = next(m for m in report.result.metrics if m.metric == "events_30d")
    b = next(v for v in events.variants if v.variant == "b")
    assert b.lift_ci_low <= -0.3 <= b.lift_ci_high
    assert b.lift_ci_high < 0


def test_design_weights_pass_the_srm_check(report):
    assert report.result.srm_p_value > 0.001
    assert report.as_of == date(2025, 6, 30)
    assert report.summaries["churn_90d"]["control"].n > 500
    # SRM counts every exposed unit, not only those whose 90-day window has ended.
    complete = sum(s.n for s in report.summaries["churn_90d"].values())
    assert report.result.units > complete


def test_a_book_without_a_treatment_is_refused(tmp_path, book):
    _, settings = book
    (tmp_path / "manifest.json").write_text("{}")
    engine = get_engine(settings)
    with pytest.raises(InputError, match=r"assignments\.csv"):
        simulated_report(tmp_path, settings, engine)
    engine.dispose()


def cli_app() -> typer.Typer:
    """Return a root app with --data-dir and the `simulated` command, as the lead will wire it."""
    from tenure.cli.experiments_simulated import register

    root = typer.Typer()

    @root.callback()
    def main(data_dir: Path = typer.Option(None, "--data-dir")) -> None:
        """Root."""

    register(root)
    return root


def test_cli_prints_truth_beside_estimate(book):
    sim, settings = book
    runner = CliRunner()
    args = ["--data-dir", str(settings.data_dir), "simulated", str(sim)]
    shown = runner.invoke(cli_app(), [*args, "--metric", "churn_90d"])
    assert shown.exit_code == 0, shown.output
    assert "estimate vs simulated truth" in shown.stdout
    assert "covered" in shown.stdout
    body = json.loads(runner.invoke(cli_app(), [*args, "--json"]).stdout)
    arms = {row["arm"]: row for row in body["churn_90d"]}
    assert arms["a"]["covered"] is True
    assert {a["arm"] for a in body["simulated_truth"]["arms"]} == {"control", "a", "b"}
