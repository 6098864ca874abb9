"""`tenure messages deliver [--limit N] [--json]`: send what is due, print counts, exit."""

from __future__ import annotations

import json

from tenure.cli.main import app

from .delivery_helpers import queue_messages


def test_deliver_limit_then_the_rest(cli, engine, settings, smtp_sink, monkeypatch, frozen_clock):
    """--limit 2 sends two of three; the next run sends the last; the text form counts too."""
    monkeypatch.setenv("TENURE_SMTP_PORT", str(smtp_sink.port))
    queue_messages(engine, settings, ["a@acme.io", "b@acme.io", "c@acme.io"])
    base = ["--data-dir", str(settings.data_dir), "messages", "deliver"]
    first = cli.invoke(app, [*base, "--limit", "2", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {
        "sent": 2,
        "retrying": 0,
        "failed": 0,
        "bounced": 0,
        "deferred": 0,
    }
    second = cli.invoke(app, base)
    assert second.exit_code == 0, second.output
    assert "messages deliver: sent 1, retrying 0" in second.output
    assert sorted(m["To"] for m in smtp_sink.messages) == ["a@acme.io", "b@acme.io", "c@acme.io"]
    assert cli.invoke(app, [*base, "--limit", "0"]).exit_code != 0
