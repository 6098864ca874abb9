"""End to end: a simulated book with a hidden loyalty effect, measured by Tenure against truth.

The simulator enrols members by Tenure's own hashing and writes the exact true effect of the
programme on each account's 90-day churn; Tenure imports what the measurement reads (accounts
and subscriptions), loads a programme with the same holdout, enrols at the pipeline's as-of day
and measures members against the holdout 90 days on.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.clock import FrozenClock, use_clock
from tenure.simulate import SimulationConfig, simulate
from tenure.simulate.config import LoyaltyEffect

END = date(2025, 3, 31)
ENROLLED = date(2024, 12, 20)  # 101 days before the window's end: 90-day churn is complete
HOLDOUT = 0.5
PROGRAMME = f"""
name = "Measured programme"
point_value_minor = 1
approval_threshold = 20000
holdout_fraction = {HOLDOUT}

[[rules]]
key = "weekly_login"
event = "login"
points = 10
cooldown_days = 7

[[tiers]]
key = "member"
name = "Member"
qualifying_points = 0
"""
# Simulating and importing two books, plus two pipeline days each: about 30 s on a quiet machine.
pytestmark = pytest.mark.slow


def tenure(data: Path, *args: str) -> str:
    """Run a tenure command on the data dir; return its output (fail on a non-zero exit)."""
    result = CliRunner().invoke(app, ["--data-dir", str(data), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def measured_book(root: Path, accounts: int, cut: float, seed: int) -> tuple[dict, dict]:
    """Simulate, import, load the programme, run the pipeline twice; return (truth, report)."""
    loyalty = LoyaltyEffect(cut=cut, start=ENROLLED, holdout_fraction=HOLDOUT)
    config = SimulationConfig(accounts=accounts, months=4, seed=seed, end=END,
                              events_per_seat_day=0.02, loyalty=loyalty)  # fmt: skip
    simulate(config, root / "sim")
    data = root / "data"
    # today is the book's last day: the accounts the run of D + 95 enrols are not judged yet
    with use_clock(FrozenClock(datetime.combine(END, datetime.min.time(), UTC))):
        for kind in ("accounts", "subscriptions"):
            tenure(data, "import", kind, str(root / "sim" / f"{kind}.csv"))
        (root / "programme.toml").write_text(PROGRAMME, encoding="utf-8")
        tenure(data, "loyalty", "program", "load", str(root / "programme.toml"))
        for day in (ENROLLED, ENROLLED + timedelta(days=95)):
            tenure(data, "pipeline", "run", "--as-of", day.isoformat(), "--only", "loyalty")
        report = json.loads(tenure(data, "loyalty", "report", "--json"))
    manifest = json.loads((root / "sim" / "manifest.json").read_text(encoding="utf-8"))
    return manifest["loyalty"], report


@pytest.fixture(scope="module")
def effect_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """Return a 6,000-account book whose engaged members' hazards are cut by up to 90 %."""
    return measured_book(tmp_path_factory.mktemp("loyalty_effect"), 6000, 0.9, 3)


@pytest.fixture(scope="module")
def null_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """Return a 1,500-account book whose programme does nothing."""
    return measured_book(tmp_path_factory.mktemp("loyalty_null"), 1500, 0.0, 4)


def test_tenure_enrols_exactly_the_simulated_members(effect_book):
    truth, report = effect_book
    assert truth["enrolled_on"] == ENROLLED.isoformat() and truth["exact"] is True
    assert report["churn_members_n"] == truth["members"] > 2000
    assert report["churn_holdout_n"] == truth["holdout"] > 2000


def test_interval_covers_the_true_effect_and_excludes_zero(effect_book):
    truth, report = effect_book
    assert truth["true_effect"] < -0.01  # members churn at least a point less
    assert report["effect_ci_low"] <= truth["true_effect"] <= report["effect_ci_high"]
    assert report["effect_ci_high"] < 0
    assert report["effect"] == pytest.approx(report["churn_members"] - report["churn_holdout"])
    # each arm's observed churn is near its exact mean probability (4 binomial standard errors)
    for arm, n in (("members", "churn_members_n"), ("holdout", "churn_holdout_n")):
        p = truth[f"mean_p_churn_90_{arm}"]
        assert abs(report[f"churn_{arm}"] - p) < 4 * (p * (1 - p) / report[n]) ** 0.5


def test_a_programme_without_effect_measures_none(null_book):
    truth, report = null_book
    assert truth["true_effect"] == 0.0
    assert report["churn_members_n"] == truth["members"]
    assert report["effect_ci_low"] <= 0.0 <= report["effect_ci_high"]
