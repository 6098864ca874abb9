"""`tenure import log` and `tenure import quarantine` read back what imports did."""

from __future__ import annotations

import json

import pytest

from tenure.cli.main import app


@pytest.mark.usefixtures("frozen_clock")
def test_log_and_quarantine_show_runs_and_rejected_rows(cli, settings, files):
    path = files.csv(
        "accounts.csv",
        ["account_id", "name", "created_at"],
        [["a1", "Acme", "2024-01-01"], ["a2", "Beta", "yesterday-ish"]],
    )
    data = ["--data-dir", str(settings.data_dir)]
    assert cli.invoke(app, [*data, "import", "accounts", str(path)]).exit_code == 3

    log = cli.invoke(app, [*data, "import", "log", "--json"])
    assert log.exit_code == 0, log.output
    (run,) = json.loads(log.stdout)["runs"]
    assert (run["kind"], run["status"], run["rows_read"], run["rows_loaded"]) == (
        "accounts",
        "partial",
        2,
        1,
    )
    assert run["rows_quarantined"] == 1

    shown = cli.invoke(app, [*data, "import", "quarantine", str(run["id"]), "--json"])
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.stdout)["rows"]
    assert (row["line"], row["field"]) == (3, "created_at")
    assert "unparseable timestamp 'yesterday-ish'" in row["reason"]


def test_quarantine_of_an_unknown_run_is_a_clear_error(cli, settings):
    result = cli.invoke(app, ["--data-dir", str(settings.data_dir), "import", "quarantine", "42"])
    assert result.exit_code == 4
    assert "no import run 42" in result.stderr
