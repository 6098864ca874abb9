"""`tenure alerts …` through the CLI: list, show, ack, snooze, resolve, rules, evaluate."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tenure.cli.alerts import parse_duration, parse_until
from tenure.cli.main import app
from tenure.errors import InputError

RULES_TOML = """
[[rule]]
name = "health-red"
kind = "tier_change"
severity = "critical"
route = "team:cs@example.com"
escalate_after_hours = 4
[rule.params]
to = "red"
"""


@pytest.fixture
def run(cli, settings, engine, frozen_clock):
    """Return a function running `tenure --data-dir … ARGS` and checking the exit code."""

    def invoke(*args: str, code: int = 0):
        result = cli.invoke(
            app, ["--data-dir", str(settings.data_dir), *args], env={"USER": "tester"}
        )
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_rules_load_evaluate_and_lifecycle(run, book, tmp_path, frozen_clock):
    """Load rules, evaluate a day, then ack, snooze and resolve the alert from the CLI."""
    (tmp_path / "rules.toml").write_text(RULES_TOML)
    assert (
        "1 rules (health-red)"
        in run("alerts", "rules", "load", str(tmp_path / "rules.toml")).output
    )
    rules = json.loads(run("alerts", "rules", "list", "--json").output)
    red = next(r for r in rules if r["name"] == "health-red")
    assert (red["severity"], red["route"], len(rules)) == ("critical", "team:cs@example.com", 9)

    account = book.account("a1")
    book.health(account, date(2025, 6, 29), 62, "yellow")
    book.health(account, date(2025, 6, 30), 44, "red")
    summary = json.loads(run("alerts", "evaluate", "--as-of", "2025-06-30", "--json").output)
    assert summary["by_rule"]["health-red"] == 1 and summary["by_rule"]["health-drop"] == 1
    listed = json.loads(
        run("alerts", "list", "--status", "open", "--owner", "cs@example.com", "--json").output
    )
    assert [(a["rule"], a["severity"]) for a in listed] == [("health-red", "critical")]
    alert_id = str(listed[0]["id"])

    assert "now acknowledged" in run("alerts", "ack", alert_id).output
    run("alerts", "ack", alert_id, code=2)
    assert "now snoozed" in run("alerts", "snooze", alert_id, "--for", "2d", "--as", "ana").output
    run("alerts", "snooze", alert_id, code=2)  # neither --until nor --for
    assert "now resolved" in run("alerts", "resolve", alert_id).output
    shown = json.loads(run("alerts", "show", alert_id, "--json").output)
    assert [(h["action"], h["actor"]) for h in shown["history"]] == [
        ("opened", "system"),
        ("acknowledged", "tester"),
        ("snoozed", "ana"),
        ("resolved", "tester"),
    ]
    assert shown["resolved_at"] == frozen_clock.now().isoformat()
    run("alerts", "show", "999", code=4)
    table = run("alerts", "list").output
    assert "health-red" in table and "resolved" in table


def test_deliver_and_digest_commands(run, book, settings, smtp_sink, monkeypatch):
    """`alerts digest` queues one per owner; `alerts deliver` sends through SMTP."""
    monkeypatch.setenv("TENURE_SMTP_PORT", str(smtp_sink.port))
    account = book.account("a1", owner="ann@example.com")
    book.health(account, date(2025, 6, 29), 62, "yellow")
    book.health(account, date(2025, 6, 30), 44, "red")
    run("alerts", "evaluate")
    assert "1 digests queued" in run("alerts", "digest").output
    assert "0 digests queued" in run("alerts", "digest").output
    report = json.loads(run("alerts", "deliver", "--json").output)
    assert report == {"sent": 3, "retrying": 0, "failed": 0}
    assert sorted(m["To"] for m in smtp_sink.messages) == ["ann@example.com"] * 3


def test_duration_and_until_parsing(frozen_clock):
    """--for takes 1w2d12h-style durations; --until a date or a date-time."""
    assert parse_duration("1w2d12h") == timedelta(days=9, hours=12)
    assert parse_duration("90m") == timedelta(minutes=90)
    for bad in ("", "3", "2x", "1d-2h"):
        with pytest.raises(InputError, match="not a duration"):
            parse_duration(bad)
    assert parse_until("2025-07-02").isoformat() == "2025-07-02T00:00:00+00:00"
    assert parse_until("2025-07-02T09:30+02:00").hour == 9
    with pytest.raises(InputError, match="--until"):
        parse_until("next week")
