"""`tenure simulate` through the root Typer app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.clock import FrozenClock
from tenure.errors import InputError

EXPECTED = {
    "accounts.csv",
    "contacts.csv",
    "subscriptions.csv",
    "invoices.csv",
    "tickets.csv",
    "surveys.csv",
    "spend.csv",
    "events.parquet",
    "truth.parquet",
    "manifest.json",
}


def test_simulate_writes_every_file(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["--data-dir", str(tmp_path / "data"), "simulate", "--accounts", "150", "--months",
            "2", "--seed", "5", "--out", str(out), "--end", "2025-01-31",
            "--treatment-fraction", "0.5", "--treatment-effect", "0.3",
            "--treatment-start", "2025-01-01"]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == EXPECTED | {"assignments.csv"}
    assert "150 accounts" in result.stdout and "11 files" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["arguments"]["treatment_start"] == "2025-01-01"
    assert manifest["files"]["accounts.csv"] == 150
    spend = (out / "spend.csv").read_text().splitlines()
    assert (
        spend[0] == "spend_id,month,channel,amount,currency" and len(spend) == 1 + 3 * 3
    )  # Nov (1 day), Dec, Jan


def test_end_defaults_to_today_from_the_clock(
    cli: CliRunner, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    out = tmp_path / "sim"
    args = ["--data-dir", str(tmp_path / "data"), "simulate", "--accounts", "50", "--months", "1"]
    result = cli.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == EXPECTED
    assert json.loads((out / "manifest.json").read_text())["end"] == "2025-06-30"


def test_bad_date_is_an_input_error(cli: CliRunner, tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path), "simulate", "--end", "2025-02-30"]
    result = cli.invoke(app, args)
    assert result.exit_code == InputError.exit_code
    assert "YYYY-MM-DD" in result.output


def test_refuses_a_folder_it_did_not_write(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    args = ["--data-dir", str(tmp_path), "simulate", "--accounts", "20", "--months", "1",
            "--end", "2025-01-31", "--out", str(out)]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == InputError.exit_code
    assert "no simulator manifest.json" in result.output
    assert (out / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / ".mine.partial").exists()


def test_arm_options_give_several_arms(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["--data-dir", str(tmp_path / "data"), "simulate", "--accounts", "120", "--months",
            "2", "--seed", "5", "--out", str(out), "--end", "2025-01-31",
            "--arm", "a:0.3:0.2:0.1", "--arm", "b:0.3"]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    treatment = json.loads((out / "manifest.json").read_text())["treatment"]
    assert [a["arm"] for a in treatment["arms"]] == ["control", "a", "b"]
    assert treatment["arms"][1] | {"exposed_accounts": 0, "mean_p_churn_90": 0} == {
        "arm": "a", "fraction": 0.3, "churn_effect": 0.2, "usage_effect": 0.1,
        "exposed_accounts": 0, "mean_p_churn_90": 0,
    }  # fmt: skip
    header = (out / "assignments.csv").read_text().splitlines()[0]
    assert header.endswith("p_churn_90_control,p_churn_90_a,p_churn_90_b")


def test_a_bad_arm_is_an_input_error(cli: CliRunner, tmp_path: Path) -> None:
    base = ["--data-dir", str(tmp_path), "simulate", "--out", str(tmp_path / "sim")]
    for bad in (["--arm", "a:1.5"], ["--arm", "a:0.5", "--treatment-fraction", "0.5"]):
        result = cli.invoke(app, [*base, *bad])
        assert result.exit_code == 2, result.output
