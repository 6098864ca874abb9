"""The demo path end to end: simulate, import, sync, data-quality report."""

from __future__ import annotations

import json

import pytest

from tenure.cli.main import app


@pytest.mark.usefixtures("frozen_clock")
def test_simulate_import_sync_and_report(cli, tmp_path):
    data, out = str(tmp_path / "data"), str(tmp_path / "sim")

    simulated = cli.invoke(
        app,
        [
            "simulate",
            "--accounts",
            "150",
            "--months",
            "3",
            "--seed",
            "11",
            "--out",
            out,
            "--end",
            "2025-06-30",
        ],
    )
    assert simulated.exit_code == 0, simulated.output

    imported = cli.invoke(app, ["--data-dir", data, "import", "simulated", out])
    assert imported.exit_code == 0, imported.output
    for kind in ("accounts", "subscriptions", "invoices", "tickets", "surveys", "events"):
        assert f"{kind}: " in imported.stdout
    assert "0 quarantined" in imported.stdout

    again = cli.invoke(app, ["--data-dir", data, "import", "simulated", out])
    assert again.exit_code == 0, again.output
    assert "(0 new" in again.stdout

    synced = cli.invoke(app, ["--data-dir", data, "pipeline", "run"])
    assert synced.exit_code == 0, synced.output

    report = cli.invoke(app, ["--data-dir", data, "dq", "report", "--json"])
    assert report.exit_code == 0, report.output
    body = json.loads(report.stdout)
    assert body["overall_score"] >= 95
    assert {"table", "check", "score", "detail"} <= set(body["checks"][0])
    scored = {(c["table"], c["check"]) for c in body["checks"] if c["score"] is not None}
    assert ("events", "referential") in scored
