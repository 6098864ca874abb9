"""Plays on the simulated book: exact true effects, the policy file, and the closed loop."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.cli.main import app
from tenure.errors import InputError
from tenure.simulate import MarkovChain, SimulationConfig, churn_probabilities, simulate
from tenure.simulate.play_effects import DEFAULT_KINDS, PlayKind, hazard_cuts, true_uplift
from tenure.simulate.policy import LoopPolicy, read_policy

END = date(2025, 3, 31)


def run_loop(out: Path, accounts: int = 600, months: int = 5, seed: int = 3, **policy) -> dict:
    """Simulate a small book under a policy and return loop.json."""
    config = SimulationConfig(accounts=accounts, months=months, seed=seed, end=END,
                              policy=LoopPolicy(**policy))  # fmt: skip
    simulate(config, out)
    return json.loads((out / "loop.json").read_text())


def test_true_uplift_matches_the_chains_switched_churn_probability():
    """Delay d then a cut for the rest of the horizon = chain.churn_probabilities(switched, k=d)."""
    chain, horizon = MarkovChain(), 90
    mults = np.array([0.7, 1.3])
    kind = PlayKind("call", (0.1, 0.2, 0.3, 0.4, 0.5, 0.6), (1.0,) * 4, delay_days=9,
                    duration_days=400)  # fmt: skip
    states = np.array([2, 3, 4, 5])
    index = np.array([0, 1, 0, 1])
    cuts = hazard_cuts((kind,), states, np.zeros(4, int), np.zeros((4, 3), bool))
    got = true_uplift(chain, mults, index, states, cuts, (kind,), horizon)[:, 0]
    for i, (s, m) in enumerate(zip(states, mults[index], strict=True)):
        plain = churn_probabilities(chain, m, horizon)[s]
        treated = churn_probabilities(chain, m, horizon, switched=m * (1 - cuts[i, 0]), k=9)[s]
        assert got[i] == pytest.approx(plain - treated, abs=1e-12)
    assert (got > 0).all()


def test_cuts_depend_on_state_plan_and_reason():
    dunning = next(k for k in DEFAULT_KINDS if k.name == "dunning")
    reasons = np.array([[True, False, False], [False, False, False], [True, False, False]])
    cuts = hazard_cuts((dunning,), np.array([5, 5, 1]), np.array([0, 0, 3]), reasons)[:, 0]
    assert cuts.tolist() == pytest.approx([0.9, 0.09, 0.0])


def test_policy_errors_name_the_field(tmp_path: Path):
    path = tmp_path / "policy.toml"
    path.write_text('ranking = "best"\n')
    with pytest.raises(InputError, match="ranking"):
        read_policy(path)
    path.write_text('ranking = "uplift"\nhorizon_days = 120\ncooldown_days = 60\n')
    with pytest.raises(InputError, match="cooldown_days must be at least horizon_days"):
        read_policy(path)
    path.write_text('ranking = "uplift"\nplays = ["csm_call", "telepathy"]\n')
    with pytest.raises(InputError, match="telepathy"):
        read_policy(path)
    path.write_text('ranking = "uplift"\nhistory = "missing.parquet"\n')
    with pytest.raises(InputError, match=r"missing\.parquet: no such file"):
        read_policy(path)


def test_without_a_policy_nothing_changes():
    config = SimulationConfig(accounts=10, months=2, seed=1, end=END)
    assert "policy" not in config.to_dict()
    # a policy runs beside an experiment's arms (the demo does both): the run key holds both
    both = SimulationConfig(accounts=10, months=2, seed=1, end=END, treatment_fraction=0.5,
                            policy=LoopPolicy(ranking="oracle")).to_dict()  # fmt: skip
    assert both["policy"]["ranking"] == "oracle" and both != config.to_dict()


def test_loop_respects_budget_and_holdout(tmp_path: Path):
    report = run_loop(tmp_path / "out", ranking="oracle", holdout_share=0.2,
                      budget={"csm_hours": 6, "offer_spend": 20_000})  # fmt: skip
    rows = pd.read_parquet(tmp_path / "out" / "play_truth.parquet")
    assert report["decision_days"] == rows["day"].nunique() >= 3
    assert not (rows["held_out"] & rows["treated"]).any()
    assert (rows["treated"] == rows["chosen"] & ~rows["held_out"]).all()
    chosen = rows[rows["chosen"]]
    per_day = chosen.groupby("day")[["csm_hours", "offer_spend"]].sum()
    assert (per_day["csm_hours"] <= 6 / 0.8 + 1e-9).all()
    assert (per_day["offer_spend"] <= 20_000 / 0.8 + 1e-9).all()
    # An account is decided on at most once per cool-down (90 days).
    decided = rows.loc[rows["treated"] | rows["held_out"], ["account", "day"]]
    later = decided.merge(rows[["account", "day"]], on="account", suffixes=("", "_next"))
    gap = later["day_next"] - later["day"]
    assert not ((gap > 0) & (gap < 90)).any()
    effects = rows.filter(like="true_effect_").to_numpy()
    assert np.isfinite(effects).all() and effects.max() > 0.05
    assert report["treated"] == int(rows["treated"].sum()) > 0
    assert report["expected_mrr_kept"] > 0


def test_same_policy_same_loop(tmp_path: Path):
    first = run_loop(tmp_path / "a", ranking="random")
    second = run_loop(tmp_path / "b", ranking="random")
    assert first == second


def test_cli_policy_writes_loop_outputs(tmp_path: Path, cli):
    policy = tmp_path / "policy.toml"
    policy.write_text('ranking = "churn"\nholdout_share = 0.1\n[budget]\ncsm_hours = 5\n')
    out = tmp_path / "sim"
    args = ["simulate", "--accounts", "400", "--months", "4", "--seed", "2", "--end", "2025-03-31",
            "--out", str(out), "--policy", str(policy)]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "plays (churn):" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["loop.json"] == 1 and manifest["loop"]["ranking"] == "churn"
    assert manifest["arguments"]["policy"]["budget"]["csm_hours"] == 5
    bad = cli.invoke(app, [*args[:-1], str(tmp_path / "nope.toml")])
    assert bad.exit_code == 2 and "nope.toml: no such file" in bad.output


def test_uplift_ranking_without_history_explores_with_thompson_sampling(tmp_path: Path):
    report = run_loop(tmp_path / "out", ranking="uplift", holdout_share=0.2)
    rows = pd.read_parquet(tmp_path / "out" / "play_truth.parquet")
    assert set(rows["source"].dropna()) == {"thompson"}
    assert rows.loc[rows["chosen"], "play"].nunique() >= 4  # every play gets tried
    assert report["holdout"] > 0 and report["treated"] > 0
