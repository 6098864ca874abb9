"""`tenure experiments analyze`: the documented JSON, kinds, CUPED, SRM weights, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tenure.cli.main import app

FIELDS = ["variant", "n", "mean", "abs_diff", "lift", "lift_ci_low", "lift_ci_high",
          "p_value", "p_value_adjusted", "chance_to_win"]  # fmt: skip


@pytest.fixture
def units_csv(tmp_path: Path) -> Path:
    """Write 3 variants × 1500 units: a 0/1, a true/false, a revenue and its pre-period value."""
    rng = np.random.default_rng(3)
    arm = np.repeat(["control", "fast", "slow"], 1500)
    pre = rng.gamma(2.0, 20.0, arm.size)
    frame = pd.DataFrame(
        {
            "arm": arm,
            "converted": (rng.random(arm.size) < np.where(arm == "fast", 0.16, 0.12)).astype(int),
            "renewed": np.where(rng.random(arm.size) < 0.7, "true", "false"),
            "revenue": np.round(0.9 * pre + rng.normal(np.where(arm == "slow", 3, 0), 8), 2),
            "pre_revenue": np.round(pre, 2),
        }
    )
    path = tmp_path / "units.csv"
    frame.to_csv(path, index=False)
    return path


def run(cli, tmp_path: Path, *args: str):
    """Invoke the analyze command with a throwaway data dir."""
    argv = ["--data-dir", str(tmp_path / "data"), "experiments", "analyze", *args]
    return cli.invoke(app, argv)


def analyze_json(cli, tmp_path, path, *extra) -> dict:
    """Return the --json document for the three metrics of units_csv."""
    args = ["--csv", str(path), "--variant", "arm", "--metric", "converted", "--metric",
            "renewed", "--metric", "revenue", "--json", *extra]  # fmt: skip
    result = run(cli, tmp_path, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_exactly_the_documented_shape(cli, tmp_path, units_csv) -> None:
    """Keys, kinds (0/1 and true/false are binary), control row with nulls, Holm across 6."""
    doc = analyze_json(cli, tmp_path, units_csv)
    assert list(doc) == ["control", "srm_p_value", "units", "metrics"]
    assert doc["control"] == "control" and doc["units"] == 4500
    assert doc["srm_p_value"] == pytest.approx(1.0)
    assert [(m["metric"], m["kind"]) for m in doc["metrics"]] == [
        ("converted", "binary"), ("renewed", "binary"), ("revenue", "mean")
    ]  # fmt: skip
    control = doc["metrics"][0]["variants"][0]
    assert list(control) == FIELDS
    assert control["n"] == 1500 and all(control[k] is None for k in FIELDS[3:])
    rows = [row for m in doc["metrics"] for row in m["variants"][1:]]
    assert len(rows) == 6
    smallest = min(rows, key=lambda row: row["p_value"])
    assert smallest["p_value_adjusted"] == pytest.approx(6 * smallest["p_value"])


def test_numbers_match_an_independent_pandas_computation(cli, tmp_path, units_csv) -> None:
    """Means and the Welch test on revenue's absolute difference agree with pandas + scipy."""
    doc = analyze_json(cli, tmp_path, units_csv)
    frame = pd.read_csv(units_csv)
    revenue = {m["metric"]: m for m in doc["metrics"]}["revenue"]["variants"]
    for row in revenue:
        values = frame.loc[frame.arm == row["variant"], "revenue"]
        assert row["mean"] == pytest.approx(values.mean(), rel=1e-12)
    control = frame.loc[frame.arm == "control", "revenue"]
    slow = frame.loc[frame.arm == "slow", "revenue"]
    assert revenue[2]["abs_diff"] == pytest.approx(slow.mean() - control.mean(), rel=1e-9)
    # The relative test's p-value is close to (not equal to) Welch's on the absolute scale.
    welch = stats.ttest_ind(slow, control, equal_var=False).pvalue
    assert revenue[2]["p_value"] == pytest.approx(welch, rel=0.2)


def test_pre_period_covariate_narrows_the_interval(cli, tmp_path, units_csv) -> None:
    """--pre (CUPED) keeps the lift near the same value with a much narrower interval."""
    plain = analyze_json(cli, tmp_path, units_csv)["metrics"][2]["variants"][2]
    cuped = analyze_json(cli, tmp_path, units_csv, "--pre", "pre_revenue")["metrics"][2]
    row = cuped["variants"][2]
    assert row["lift_ci_high"] - row["lift_ci_low"] < 0.5 * (
        plain["lift_ci_high"] - plain["lift_ci_low"]
    )
    assert row["lift"] == pytest.approx(plain["lift"], abs=0.05)
    assert row["p_value"] < plain["p_value"]


def test_weights_and_control_and_methods(cli, tmp_path, units_csv) -> None:
    """--weights changes the SRM test; --control picks the baseline; every method runs."""
    weighted = analyze_json(cli, tmp_path, units_csv, "--weights", "control=50,fast=25,slow=25")
    assert weighted["srm_p_value"] < 1e-10
    other = analyze_json(cli, tmp_path, units_csv, "--control", "slow")
    assert other["metrics"][0]["variants"][0]["variant"] == "slow"
    for method in ("bayesian", "sequential"):
        doc = analyze_json(cli, tmp_path, units_csv, "--method", method)
        assert 0 <= doc["metrics"][0]["variants"][1]["chance_to_win"] <= 1


def test_table_output_states_the_decision(cli, tmp_path, units_csv) -> None:
    """Without --json the command prints tables and the decision with its reason."""
    args = ["--csv", str(units_csv), "--variant", "arm", "--metric", "converted"]
    result = run(cli, tmp_path, *args)
    assert result.exit_code == 0, result.output
    assert "decision: ship" in result.stdout and "fast improves converted" in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("arm,x\ncontrol,1\n", ["--metric", "y"], "no column y"),
        ("arm,x\ncontrol,1\ncontrol,0\n", ["--metric", "x"], "one variant"),
        ("arm,x\ncontrol,a\ntest,b\n", ["--metric", "x"], "not numeric"),
        ("", ["--metric", "x"], "empty"),
        ("arm,x\n", ["--metric", "x"], "no rows under the header"),
        ("arm,x\na,1\nb,0\n", ["--metric", "x", "--control", "c"], "not a variant"),
        ("arm,x\na,1\nb,0\n", ["--metric", "x", "--weights", "a=1"], "every variant"),
        ("arm,x\na,1\nb,0\n", ["--metric", "x", "--weights", "a=x,b=1"], "positive"),
        ("arm,x\na,1\nb,0\n", ["--metric", "arm"], "must all be different"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(cli, tmp_path, content, args, message) -> None:
    """Missing column, one variant, non-numeric metric, empty file... exit 2 and say why."""
    path = tmp_path / "in.csv"
    path.write_text(content)
    result = run(cli, tmp_path, "--csv", str(path), "--variant", "arm", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output + result.stderr


def test_missing_file_exits_2(cli, tmp_path) -> None:
    """A path that does not exist is bad input."""
    result = run(
        cli, tmp_path, "--csv", str(tmp_path / "nope.csv"), "--variant", "a", "--metric", "b"
    )
    assert result.exit_code == 2
    assert "no such file" in result.output + result.stderr


def test_summaries_come_from_one_group_by(tmp_path) -> None:
    """0.0/1.0 floats are binary, fractions in [0, 1] are means, empty cells are left out."""
    from tenure.experiments.csv_source import summarize_csv
    from tenure.experiments.schemas import MetricKind, MetricSummary

    path = tmp_path / "units.csv"
    path.write_text("arm,paid,share\na,1.0,0.5\na,0.0,\nb,1.0,0.25\nb,,1.0\nb,0.0,0.0\n")
    data = summarize_csv(path, "arm", ["paid", "share"])
    assert data.kinds == {"paid": MetricKind.BINARY, "share": MetricKind.MEAN}
    assert data.counts == {"a": 2, "b": 3}
    assert data.summaries["paid"]["b"] == MetricSummary(2, 1.0, 1.0)
    assert data.summaries["share"]["b"] == MetricSummary(3, 1.25, 1.0625)
