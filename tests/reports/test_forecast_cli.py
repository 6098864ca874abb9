"""`tenure forecast` on a simulated book: well-formed JSON, backtest beside the baselines."""

from __future__ import annotations

import json

import pytest

from tenure.cli.main import app
from tenure.reports.forecast.history import SERIES
from tenure.reports.forecast.methods import METHODS


@pytest.fixture
def sim_book(cli, tmp_path, frozen_clock):
    """Simulate 300 accounts (subscriptions reach back years) and import accounts and billing."""
    data, out = str(tmp_path / "data"), tmp_path / "sim"
    args = ["simulate", "--accounts", "300", "--months", "1", "--seed", "3", "--out", str(out),
            "--end", "2025-06-30"]  # fmt: skip
    assert cli.invoke(app, args).exit_code == 0
    for kind in ("accounts", "subscriptions"):
        result = cli.invoke(app, ["--data-dir", data, "import", kind, str(out / f"{kind}.csv")])
        assert result.exit_code == 0, result.output
    return data


@pytest.mark.slow
def test_forecast_json_on_a_simulated_book(cli, sim_book) -> None:
    result = cli.invoke(app, ["--data-dir", sim_book, "forecast", "--months", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["last_month"] == "2025-05" and report["history_months"] >= 24
    assert [r["month"] for r in report["forecast"]] == ["2025-06", "2025-07", "2025-08"]
    for row in report["forecast"]:
        for name in SERIES:
            cell = row[name]
            assert cell["method"] in METHODS
            assert cell["lo95"] <= cell["lo80"] <= cell["point"] <= cell["hi80"] <= cell["hi95"]
    first = report["backtest"]["mrr"][0]
    assert first["n"] == report["backtest"]["origins"] == 18
    assert {"model", "naive", "seasonal_naive"} <= set(first)

    # Held-out months of the simulated book fall in the model's 95 % MRR band at least half the
    # time (below nominal: its new MRR is a few lumpy deals; docs/reports.md gives the figures),
    # and its customer bands cover more often than the naive ones.
    def coverage(series: str, method: str) -> float:
        rows = report["backtest"][series]
        return sum(row[method]["coverage95"] for row in rows) / len(rows)

    assert coverage("mrr", "model") >= 0.5
    assert coverage("customers", "model") > coverage("customers", "naive")


def test_forecast_without_billing_says_what_is_missing(cli, tmp_path, frozen_clock) -> None:
    result = cli.invoke(app, ["--data-dir", str(tmp_path / "d"), "forecast"])
    assert result.exit_code == 2
    assert "complete months of subscriptions" in result.output
