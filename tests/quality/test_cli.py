"""`tenure dq report` through Typer's CliRunner: table, JSON, HTML."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app


@pytest.fixture
def data_dir(factory, settings, frozen_clock):
    """Return a data dir: 10 tickets (2 lack priority), 4 events (1 orphan), 1 import run."""
    account = factory.account(name="Acme <b>& Co</b>")
    for i in range(10):
        factory.ticket(account, priority="" if i < 2 else "high")
    factory.events(
        *({"message_id": f"m{i}", "account_id": account.id if i else 999} for i in range(4))
    )
    factory.import_run([("priority", "<b>blank</b>")], rows_read=100, rows_quarantined=1)
    factory.engine.dispose()
    return settings.data_dir


def invoke(data_dir, *args):
    """Run `tenure --data-dir DIR dq report ARGS` and return the result."""
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "dq", "report", *args])
    assert result.exit_code == 0, result.output
    return result


def test_json_is_one_object_with_scores_and_below_bar(data_dir):
    data = json.loads(invoke(data_dir, "--json").stdout)
    assert 0 <= data["overall_score"] <= 100
    assert data["bar"] == 95.0
    for check in data["checks"]:
        assert {"table", "check", "score", "detail", "source", "rows", "status"} <= set(check)
    below = {(c["table"], c["check"], c["score"]) for c in data["below_bar"]}
    assert below == {("events", "referential", 75.0), ("ticket", "completeness", 80.0)}
    assert data["tables"]["ticket"] == 10
    assert "survey_response" in data["no_data_tables"]


def test_text_report_names_what_is_below_the_bar(data_dir):
    out = invoke(data_dir).stdout
    # Weight 32 scored; missed 3 × 25 (events) + 3 × 20 (tickets) + 2 × 1 (validity) = 137.
    assert "Overall data quality: 95.72 %" in out
    assert "Below the 95 % bar" in out
    assert "events/segment referential: 75.00 %" in out
    assert "No data (not scored): contact, subscription, invoice, survey_response" in out


def test_html_report_is_written_self_contained_and_escaped(data_dir, tmp_path):
    target = tmp_path / "out" / "dq.html"
    result = invoke(data_dir, "--html", str(target), "--json")
    assert json.loads(result.stdout)["status"] == "pass"  # stdout stays one JSON object
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "Below the 95&nbsp;% bar (2 checks" in page
    # Self-contained: Plotly.js is inline, nothing is loaded from elsewhere.
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page)
    assert "Plotly.newPlot" in page and 'id="chart-dq-checks"' in page
    assert "priority 2" in page
    assert "&lt;b&gt;blank&lt;/b&gt;" in page and "<b>" not in page  # data is escaped
