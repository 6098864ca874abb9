"""The simulated loyalty programme: Tenure's members, exact truth, and a null programme."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.cli.main import app
from tenure.config import Settings
from tenure.errors import InputError
from tenure.loyalty.membership import arm_of
from tenure.loyalty.program import Program
from tenure.simulate import MarkovChain, SimulationConfig, churn_probabilities, simulate
from tenure.simulate.config import LoyaltyEffect
from tenure.simulate.loyalty import ENGAGEMENT, member_table, members_of, survival

END = date(2025, 3, 31)
START = date(2024, 12, 20)


def book(out: Path, cut: float, **kwargs: object) -> Path:
    """Simulate 300 accounts × 4 months with the programme starting on START."""
    loyalty = LoyaltyEffect(cut=cut, start=START, holdout_fraction=0.3)
    simulate(SimulationConfig(accounts=300, months=4, seed=9, end=END, loyalty=loyalty,
                              events_per_seat_day=0.01, **kwargs), out)  # fmt: skip
    return out


def test_survival_with_an_even_cut_is_the_chains_churn_probability():
    """The same factor in every state is a plain multiplier m·(1 − cut): chain.py's formula."""
    chain, mults = MarkovChain(), np.array([0.6, 1.0, 2.5])
    got = 1.0 - survival(chain, mults, np.full(len(chain.states), 0.4))
    for i, m in enumerate(mults):
        assert got[i] == pytest.approx(churn_probabilities(chain, m * 0.4, 90), abs=1e-12)


def test_member_table_with_an_even_cut_is_the_chains_switched_probability():
    """Before the start, k plain days then the cut: chain.churn_probabilities(switched, k)."""
    chain, mults = MarkovChain(), np.array([0.8, 1.7])
    table = member_table(chain, mults, np.full(len(chain.states), 0.3), 30)
    for i, m in enumerate(mults):
        for k in (0, 7, 30):
            want = churn_probabilities(chain, m, 30, switched=m * 0.3, k=k)
            assert table.treated[i, k] == pytest.approx(want, abs=1e-12)
        assert table.untreated[i] == pytest.approx(churn_probabilities(chain, m, 30), abs=1e-12)


def test_members_are_the_accounts_tenure_enrols():
    program = Program(name="p", point_value_minor=1, approval_threshold=100, holdout_fraction=0.3,
                      rules=[{"key": "r", "event": "login", "points": 1}],
                      tiers=[{"key": "m", "name": "M", "qualifying_points": 0}])  # fmt: skip
    settings = Settings(holdout_fraction=0.1)
    ids = [f"acc_{i:07d}" for i in range(1, 401)]
    mask = members_of(ids, LoyaltyEffect(cut=0.5, holdout_fraction=0.3, global_holdout=0.1))
    assert mask.tolist() == [arm_of(i, program, settings) == "member" for i in ids]
    assert 0.55 < mask.mean() < 0.75  # about (1 − 0.1) × (1 − 0.3) are members


def test_truth_file_matches_the_book(tmp_path):
    out = book(tmp_path / "sim", 0.6)
    loyalty = pd.read_csv(out / "loyalty.csv")
    truth = pd.read_parquet(out / "truth.parquet")
    first = truth[truth["date"] == date(2024, 12, 21)]
    # every account in the chain the day after enrolment, and no other
    assert sorted(loyalty["account_id"]) == sorted(first["account_id"])
    assert (loyalty["arm"] == "member").tolist() == members_of(
        loyalty["account_id"].tolist(), LoyaltyEffect(cut=0.6, holdout_fraction=0.3)
    ).tolist()
    # truth.parquet agrees: members' probabilities with the programme, the holdout's without
    merged = loyalty.merge(first, on="account_id")
    member = merged["arm"] == "member"
    expected = np.where(member, merged["p_churn_90_member"], merged["p_churn_90_without"])
    assert np.allclose(merged["p_churn_90"], expected, atol=2e-6)
    assert (merged.loc[member, "effect"] < 0).any()
    assert (merged["state_x"] == merged["state_y"]).all()
    effect = loyalty["p_churn_90_member"] - loyalty["p_churn_90_without"]
    assert np.allclose(loyalty["effect"], effect, atol=2e-6) and (loyalty["effect"] <= 0).all()
    # the effect varies by account: disengaged accounts gain least relative to their risk
    assert loyalty["effect"].nunique() > 5
    manifest = json.loads((out / "manifest.json").read_text())["loyalty"]
    members = loyalty[loyalty["arm"] == "member"]
    assert manifest["members"] == len(members) and manifest["exact"] is True
    assert manifest["true_effect"] == pytest.approx(members["effect"].mean(), abs=1e-5)
    assert manifest["engagement_by_state"]["champion"] == ENGAGEMENT[0]


def test_a_programme_without_effect_changes_nothing_else(tmp_path):
    with_null = book(tmp_path / "null", 0.0)
    without = tmp_path / "plain"
    simulate(SimulationConfig(accounts=300, months=4, seed=9, end=END,
                              events_per_seat_day=0.01), without)  # fmt: skip
    for name in ("subscriptions.csv", "invoices.csv", "tickets.csv"):
        assert (with_null / name).read_bytes() == (without / name).read_bytes()
    assert (pd.read_csv(with_null / "loyalty.csv")["effect"] == 0).all()
    plain = json.loads((without / "manifest.json").read_text())
    assert "loyalty" not in plain and "loyalty" not in plain["arguments"]


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        (LoyaltyEffect(cut=1.0, start=START), "--loyalty-effect"),
        (LoyaltyEffect(cut=0.3, start=START, holdout_fraction=1.0), "--loyalty-holdout"),
        (LoyaltyEffect(cut=0.3, start=END), "--loyalty-start"),
        (LoyaltyEffect(cut=0.3, start=date(2020, 1, 1)), "--loyalty-start"),
    ],
)
def test_bad_programme_arguments_are_refused(effect, message):
    with pytest.raises(InputError, match=message):
        SimulationConfig(accounts=10, months=4, seed=1, end=END, loyalty=effect)


def test_cli_prints_the_true_effect(cli, tmp_path):
    args = ["--data-dir", str(tmp_path / "d"), "simulate", "--accounts", "150", "--months", "4",
            "--end", END.isoformat(), "--loyalty-effect", "0.5", "--loyalty-start",
            START.isoformat(), "--out", str(tmp_path / "sim")]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "loyalty (enrolled 2024-12-20)" in result.stdout
    manifest = json.loads((tmp_path / "sim" / "manifest.json").read_text())
    assert manifest["arguments"]["loyalty"]["cut"] == 0.5
    assert manifest["loyalty"]["holdout_fraction"] == 0.2
