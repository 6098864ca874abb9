"""Plays: triggers and eligibility, the holdout split, actions for the treated, measured effect."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from scipy import stats

from tenure.accounts.schemas import Money
from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.plays import effect, service, tasks
from tenure.plays.definitions import PlayDefinition, read_plays
from tenure.plays.models import CsmTask, Play, PlayRun

from ..factories import DAY, add_account, add_health_score, add_subscription

RED_CALL = {
    "key": "red-call",
    "name": "Red: call",
    "trigger": {"kind": "health_tier", "tiers": ["red"]},
    "eligibility": {"cooldown_days": 30},
    "actions": [
        {"kind": "task", "title": "Call", "due_in_days": 2, "minutes": 60},
        {"kind": "offer", "offer": "credit", "value": 5000, "approval_limit": 1000},
    ],
    "cost": {"csm_hourly_rate": 6000},
    "holdout_fraction": 0.3,
}


def red_book(session, accounts: int = 200):
    """Add accounts with 100.00 MRR, every other one red on DAY."""
    for i in range(accounts):
        account = add_account(session, f"acct-{i}", owner="csm@x.io")
        add_subscription(session, account)
        add_health_score(session, account, tier="red" if i % 2 == 0 else "green", score=30.0)


def test_run_splits_treated_and_holdout_and_acts_on_treated_only(engine, settings):
    settings = settings.model_copy(update={"holdout_fraction": 0.0})  # no global holdout here
    with session_scope(engine) as session:
        red_book(session)
        play = service.save_play(session, PlayDefinition.model_validate(RED_CALL))
        day = service.run_play(session, settings, play, DAY)
        assert (day.triggered, day.eligible) == (100, 100)
        assert day.treated + day.holdout == 100 and 18 <= day.holdout <= 42
        runs = session.scalars(sa.select(PlayRun)).all()
        expected = {r.account_id: service.arm_of("red-call", f"acct-{r.account_id - 1}", 0.3)
                    for r in runs}  # fmt: skip
        assert all(r.arm == expected[r.account_id] for r in runs)
        treated = [r for r in runs if r.arm == "treated"]
        tasks_made = session.scalars(sa.select(CsmTask)).all()
        assert {t.play_run_id for t in tasks_made} == {r.id for r in treated}
        assert all(t.due_on == DAY + timedelta(days=2) for t in tasks_made)
        offer = treated[0].actions[1]
        assert offer == {"kind": "offer", "status": "pending_approval", "offer": "credit",
                         "value": 5000}  # fmt: skip
        assert treated[0].cost == 6000  # one CSM hour; the pending offer costs nothing yet
        again = service.run_play(session, settings, play, DAY + timedelta(days=5))
        assert again.eligible == 0  # cool-down


def test_global_holdout_accounts_never_enter(engine, settings):
    settings = settings.model_copy(update={"holdout_fraction": 0.2})
    with session_scope(engine) as session:
        red_book(session)
        play = service.save_play(session, PlayDefinition.model_validate(RED_CALL))
        day = service.run_play(session, settings, play, DAY)
        assert 5 <= day.global_holdout <= 35
        assert day.treated + day.holdout + day.global_holdout == 100


def test_zero_holdout_needs_a_reason_which_is_audited(engine, tmp_path):
    with pytest.raises(ValueError, match="needs a written holdout_reason"):
        PlayDefinition.model_validate(RED_CALL | {"holdout_fraction": 0})
    with session_scope(engine) as session:
        definition = PlayDefinition.model_validate(
            RED_CALL | {"holdout_fraction": 0, "holdout_reason": "legal hold: every account"}
        )
        service.save_play(session, definition, actor="admin@x.io")
        (entry,) = session.execute(sa.text("SELECT action, detail FROM audit_log")).all()
        assert entry[0] == "play.holdout_zero" and "legal hold" in str(entry[1])
    bad = tmp_path / "plays.toml"
    bad.write_text(
        '[[play]]\nkey = "x"\nname = "x"\ntrigger = { kind = "weather" }\nactions = []\n'
    )
    with pytest.raises(InputError, match=r"#1: trigger.kind"):
        read_plays(bad)


def test_effect_and_roi_match_an_independent_computation(engine, settings):
    rng = np.random.default_rng(2)
    money = Money.from_settings(settings)
    with session_scope(engine) as session:
        play = service.save_play(session, PlayDefinition.model_validate(RED_CALL))
        outcomes = {"treated": rng.random(120) < 0.85, "holdout": rng.random(60) < 0.70}
        for arm, kept in outcomes.items():
            for i, retained in enumerate(kept):
                account = add_account(session, f"{arm}-{i}")
                session.add(PlayRun(
                    play_id=play.id, account_id=account.id, arm=arm, started_on=DAY,
                    goal_on=DAY, trigger="t", mrr_at_start=10_000, cost=6000, actions=[],
                    status="ended", retained=bool(retained), mrr_at_goal=10_000 * int(retained),
                ))  # fmt: skip
        session.flush()
        (line,) = effect.play_effects(session, money)
    t, h = outcomes["treated"].astype(float), outcomes["holdout"].astype(float)
    assert line.effect == pytest.approx(t.mean() - h.mean())
    welch = stats.ttest_ind(t, h, equal_var=False).confidence_interval(0.95)
    assert (line.effect_ci_low, line.effect_ci_high) == pytest.approx((welch.low, welch.high))
    lifetime = 1 / (-np.log(h.mean()) / (90 / 30.4375))
    cost = 120 * 60.0
    assert line.mrr_kept == pytest.approx(line.effect * 120 * 100.0)
    assert line.roi == pytest.approx((line.mrr_kept * lifetime - cost) / cost)
    assert line.roi_ci_low < line.roi < line.roi_ci_high


def test_close_runs_judges_retention_at_the_goal_day(engine, settings):
    with session_scope(engine) as session:
        play = service.save_play(session, PlayDefinition.model_validate(RED_CALL))
        kept, lost = add_account(session, "kept"), add_account(session, "lost")
        add_subscription(session, kept)
        add_subscription(session, lost, ended_at=datetime(2025, 7, 15, tzinfo=UTC))
        for account in (kept, lost):
            session.add(PlayRun(play_id=play.id, account_id=account.id, arm="treated",
                                started_on=DAY, goal_on=DAY + timedelta(days=30), trigger="t",
                                mrr_at_start=10_000, actions=[], status="active"))  # fmt: skip
        session.flush()
        assert effect.close_runs(session, Money.from_settings(settings), DAY) == 0
        assert effect.close_runs(session, Money.from_settings(settings), DAY + timedelta(30)) == 2
        runs = {r.account_id: r for r in session.scalars(sa.select(PlayRun))}
        assert (runs[kept.id].retained, runs[lost.id].retained) == (True, False)
        assert runs[lost.id].mrr_at_goal == 0


def test_cli_load_run_report_and_tasks(engine, settings, cli, monkeypatch, frozen_clock):
    monkeypatch.setenv("TENURE_DATA_DIR", str(settings.data_dir))
    with session_scope(engine) as session:
        red_book(session, 40)
    assert cli.invoke(app, ["plays", "load", "--defaults"]).exit_code == 0
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Play)) == 5
    result = cli.invoke(app, ["plays", "run", "red-health-call", "--as-of", DAY.isoformat()])
    assert result.exit_code == 0 and "20 triggered" in result.output, result.output
    listed = json.loads(cli.invoke(app, ["tasks", "list", "--owner", "CSM@x.io", "--json"]).output)
    assert listed and all(t["status"] == "open" for t in listed)
    done = cli.invoke(app, ["tasks", "complete", str(listed[0]["id"]), "--outcome", "saved"])
    assert done.exit_code == 0
    refused = cli.invoke(app, ["tasks", "complete", str(listed[1]["id"]), "--outcome", "maybe"])
    assert refused.exit_code == 2 and "outcome must be one of" in refused.output
    report = json.loads(cli.invoke(app, ["plays", "report", "--json"]).output)
    keys = {"play", "treated", "holdout", "effect", "effect_ci_low", "effect_ci_high", "mrr_kept",
            "cost", "roi", "roi_ci_low", "roi_ci_high"}  # fmt: skip
    assert all(keys <= set(line) for line in report)
    assert {line["play"] for line in report} == {"red-health-call", "high-risk-renewal",
                                                 "adoption-nudge", "support-escalation",
                                                 "dunning"}  # fmt: skip
    with session_scope(engine) as session:
        assert tasks.overdue(session, DAY + timedelta(days=3))


def test_journey_action_enrols_the_treated_accounts_contacts(engine, settings):
    from tenure.messaging.journeys_store import load_default_journeys
    from tenure.messaging.models import JourneyEnrollment

    from ..factories import add_contact

    settings = settings.model_copy(update={"holdout_fraction": 0.0})
    nudge = RED_CALL | {
        "key": "red-nudge",
        "actions": [{"kind": "journey", "journey": "onboarding", "emails": 3}],
        "cost": {"email": 2},
    }
    with session_scope(engine) as session:
        red_book(session, 20)
        for account_id in range(1, 21):
            add_contact(session, account_id)
        load_default_journeys(session)
        play = service.save_play(session, PlayDefinition.model_validate(nudge))
        day = service.run_play(session, settings, play, DAY)
        treated = session.scalars(sa.select(PlayRun).where(PlayRun.arm == "treated")).all()
        enrolled = set(session.scalars(sa.select(JourneyEnrollment.account_id)))
    assert day.treated == len(treated) > 0
    assert enrolled == {r.account_id for r in treated}
    assert all(r.actions[0]["status"] == "enrolled" for r in treated)
