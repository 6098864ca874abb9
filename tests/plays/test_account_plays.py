"""Each account's plays: runs by arm, tasks, and the recommended play valued by its measured effect."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from tenure.db.session import session_scope
from tenure.plays import account_plays, service
from tenure.plays.definitions import DEFAULTS_FILE, read_plays
from tenure.plays.models import CsmTask, PlayRun

from ..factories import DAY, T0, add_account, add_churn_score, add_health_score, add_subscription

USAGE_DOWN = {"feature": "events_trend", "value": 0.4, "contribution": 0.5,
              "text": "product usage down 60 % vs previous 30 days"}  # fmt: skip


def _ended_runs(session, play, arm: str, kept: int, lost: int, start: int) -> None:
    """Add ended runs of play: `kept` retained and `lost` churned accounts of 100.00 MRR."""
    for i in range(kept + lost):
        account = add_account(session, f"{play.key}-{arm}-{start + i}")
        started = DAY - timedelta(days=120)
        session.add(PlayRun(
            play_id=play.id, account_id=account.id, arm=arm, started_on=started,
            goal_on=started + timedelta(days=90), trigger="test", mrr_at_start=10_000, cost=1500,
            actions=[], status="ended", retained=i < kept, mrr_at_goal=10_000 if i < kept else 0,
            ended_on=started + timedelta(days=90),
        ))  # fmt: skip


def test_the_recommended_play_is_valued_by_its_measured_effect(engine, settings):
    with session_scope(engine) as session:
        plays = {p.key: service.save_play(session, p) for p in read_plays(DEFAULTS_FILE)}
        nudge = plays["adoption-nudge"]
        _ended_runs(session, nudge, "treated", 18, 2, 0)
        _ended_runs(session, nudge, "holdout", 12, 8, 100)
        account = add_account(session, "target", owner="csm@x.io")
        add_subscription(session, account, mrr=40_000)
        add_health_score(session, account, tier="red", score=30.0,
                         measures={"login_recency": {"score": 10.0}})  # fmt: skip
        add_churn_score(session, account, probability=0.6, reasons=[USAGE_DOWN])
        session.add(CsmTask(account_id=account.id, owner="csm@x.io", title="Call", checklist=[],
                            due_on=DAY, status="done", outcome="saved", notes="agreed a plan",
                            created_at=T0, completed_at=T0))  # fmt: skip
        panel = account_plays.account_plays(session, settings, account.id, DAY)
    # Independently: effect 0.9 − 0.6; lifetime = 1 / monthly hazard of the holdout's 60 %.
    hazard = -math.log(0.6) / (90 / 30.4375)
    cost = (15 / 60 * 6000 + 3 * 1) / 100  # a 15-minute task and 3 emails, in dollars
    expected = 0.3 * 400.0 * (1 / hazard) - cost
    best = panel["recommended"]
    assert best["play"] == "adoption-nudge" and best["measured"] is True
    assert best["expected_value"] == pytest.approx(expected, rel=1e-6)
    assert "product usage down 60 % vs previous 30 days" in best["reasons"]
    assert "health: login recency scored 10" in best["reasons"]
    others = {c["play"]: c for c in panel["candidates"]}
    assert others["red-health-call"]["expected_value"] is None  # matched, not measured
    assert panel["tasks"][0]["outcome"] == "saved" and panel["runs"] == []


def test_cli_next_play_and_task_snooze_and_assign(engine, settings, cli, monkeypatch, frozen_clock):
    import json

    from tenure.cli.main import app

    monkeypatch.setenv("TENURE_DATA_DIR", str(settings.data_dir))
    with session_scope(engine) as session:
        for definition in read_plays(DEFAULTS_FILE):
            service.save_play(session, definition)
        account = add_account(session, "cli-target", owner="csm@x.io")
        add_subscription(session, account)
        add_churn_score(session, account, probability=0.7, reasons=[USAGE_DOWN])
        task = CsmTask(account_id=account.id, owner="csm@x.io", title="Call", checklist=[],
                       due_on=DAY, status="open", created_at=T0)  # fmt: skip
        session.add(task)
        session.flush()
        account_id, task_id = account.id, task.id
    shown = cli.invoke(app, ["plays", "next", str(account_id), "--json"])
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert [c["play"] for c in found] == ["adoption-nudge"] and found[0]["measured"] is False
    text = cli.invoke(app, ["plays", "next", str(account_id)]).output
    assert "1. adoption-nudge (product usage dropped): not measured" in text
    assert cli.invoke(app, ["plays", "next", "99999"]).exit_code != 0
    snoozed = cli.invoke(app, ["tasks", "snooze", str(task_id), "--until", "2025-07-04"])
    assert snoozed.exit_code == 0 and "snoozed until 2025-07-04" in snoozed.output
    moved = cli.invoke(app, ["tasks", "assign", str(task_id), "--owner", "lead@x.io"])
    assert moved.exit_code == 0 and "now owned by lead@x.io" in moved.output
    with session_scope(engine) as session:
        stored = session.get(CsmTask, task_id)
        assert (stored.status, stored.owner) == ("snoozed", "lead@x.io")


def test_a_near_annual_renewal_with_low_health_calls_for_the_renewal_play(engine, settings):
    from datetime import UTC, datetime

    with session_scope(engine) as session:
        for definition in read_plays(DEFAULTS_FILE):
            service.save_play(session, definition)
        started = datetime(2024, 7, 30, tzinfo=UTC)  # renews 2025-07-30: 30 days after DAY
        near = add_account(session, "near", created_at=started)
        far = add_account(session, "far", created_at=started - timedelta(days=120))
        add_subscription(session, near, billing_interval="year", started_at=started)
        add_subscription(session, far, billing_interval="year",
                         started_at=started - timedelta(days=120))  # fmt: skip
        for account in (near, far):
            add_health_score(session, account, tier="yellow", score=60.0)
        found = account_plays.recommendations(session, settings, DAY, [near.id, far.id])
    assert [c.play for c in found[near.id]] == ["high-risk-renewal"]
    assert found[near.id][0].reasons == ["health tier yellow", "renewal in 30 days"]
    assert found[far.id] == []  # renews on 2026-04-01: far beyond 60 days
