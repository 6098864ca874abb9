"""`tenure loyalty` through the CLI: load, balance, grant, rewards, redeem, report, exit codes."""

from __future__ import annotations

import json

import pytest

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.loyalty.membership import arm_of
from tenure.loyalty.program import DEFAULT_PROGRAM, load_program_file

from ..factories import add_account


def _member_ids(settings: Settings, count: int, arm: str = "member") -> list[str]:
    program, _ = load_program_file(DEFAULT_PROGRAM)
    ids = (f"cust-{i}" for i in range(1000))
    return [e for e in ids if arm_of(e, program, settings) == arm][:count]


@pytest.fixture
def run(cli, settings, engine):
    """Return a function that runs `tenure --data-dir … ARGS` and checks the exit code."""

    def invoke(*args: str, code: int = 0):
        result = cli.invoke(app, ["--data-dir", str(settings.data_dir), *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_program_load_reports_bad_fields(run, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\npoint_value_minor = 1\napproval_threshold = 5\n'
                   '[[rules]]\nkey = "a"\npoints = -3\nevent = "login"\n'
                   '[[tiers]]\nkey = "t"\nname = "T"\nqualifying_points = 0\n')  # fmt: skip
    failed = run("loyalty", "program", "load", str(bad), code=2)
    assert "bad.toml" in failed.output and "rules[0].points" in failed.output
    run("loyalty", "balance", "nobody", code=4)  # no programme loaded yet
    assert "10 earning rules" in run("loyalty", "program", "load", "--defaults").output


def test_grant_balance_redeem_report(run, settings, engine, frozen_clock):
    member, held_out = _member_ids(settings, 1)[0], _member_ids(settings, 1, "holdout")[0]
    with session_scope(engine) as session:
        add_account(session, member)
        add_account(session, held_out)
    run("loyalty", "program", "load", "--defaults")
    run("loyalty", "grant", member, "2000", "--reason", "onboarding bonus")
    run("loyalty", "grant", held_out, "100", "--reason", "x", code=2)  # holdout earns nothing
    assert json.loads(run("loyalty", "balance", member, "--json").output)["balance"] == 2000
    rewards = json.loads(run("loyalty", "rewards", "--json").output)
    assert {"key", "name", "points", "stock"} <= set(rewards[0])
    swag = next(r for r in rewards if r["key"] == "swag-box")
    assert "fulfilled" in run("loyalty", "redeem", member, "swag-box").output
    short = run("loyalty", "redeem", member, "swag-box", code=2)
    assert "has 500 points, 1500 are needed" in short.output
    run("loyalty", "redeem", member, "no-such-reward", code=4)
    after = json.loads(run("loyalty", "rewards", "--json").output)
    assert next(r for r in after if r["key"] == "swag-box")["stock"] == swag["stock"] - 1
    report = json.loads(run("loyalty", "report", "--json").output)
    keys = {"members", "holdout", "points_outstanding", "liability", "breakage_rate",
            "redemption_rate", "churn_members", "churn_holdout", "effect", "effect_ci_low",
            "effect_ci_high"}  # fmt: skip
    assert keys <= set(report)
    assert (report["members"], report["holdout"]) == (1, 0)  # the refused grant enrolled nobody
    assert report["points_outstanding"] == 500 and report["liability"] == 500
    assert report["redemption_rate"] == pytest.approx(1500 / 2000)


def test_leaderboard_opt_in_and_out(run, settings, engine):
    from ..factories import add_contact

    with session_scope(engine) as session:
        account = add_account(session, "board-acme")
        add_contact(session, account, external_id="board-ann")
    run("loyalty", "program", "load", "--defaults")
    assert json.loads(run("loyalty", "leaderboard", "board-acme", "--json").output) == []
    assert "opted in" in run("loyalty", "opt-in", "board-ann").output
    board = json.loads(run("loyalty", "leaderboard", "board-acme", "--json").output)
    assert [(b["external_id"], b["rank"]) for b in board] == [("board-ann", 1)]
    run("loyalty", "opt-out", "board-ann")
    assert json.loads(run("loyalty", "leaderboard", "board-acme", "--json").output) == []
    assert "no contact" in run("loyalty", "opt-in", "nobody", code=4).output  # NotFound
