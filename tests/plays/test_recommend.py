"""The recommender: expected value, budgeted selection, Thompson sampling and the holdout."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from tenure.plays.nba import HOLDOUT, candidate_frame, posterior_counts
from tenure.plays.recommend import (
    Budget,
    draw_holdout,
    recommend,
    remaining_lifetime_months,
    select_under_budget,
)


def book(rng: np.random.Generator, accounts: int, plays: int = 3) -> pd.DataFrame:
    """Return a random (account × play) candidate frame with CSM hours and offer spend."""
    uplift = rng.uniform(-0.02, 0.15, (accounts, plays))
    mrr = rng.uniform(100, 5000, accounts)
    hours = np.tile(rng.uniform(0, 3, plays), (accounts, 1))
    spend = np.outer(mrr, rng.uniform(0, 0.5, plays))
    cost = hours * 60 + spend
    return candidate_frame(np.arange(accounts), [f"p{j}" for j in range(plays)], uplift, mrr,
                           np.full(accounts, 12.0),
                           {"cost": cost, "csm_hours": hours, "offer_spend": spend})  # fmt: skip


def test_expected_value_is_uplift_times_mrr_times_lifetime_minus_cost():
    frame = pd.DataFrame({"account_id": [1, 1, 2], "play": ["call", "mail", "call"],
                          "uplift": [0.10, 0.02, 0.05], "mrr": [1000.0, 1000.0, 400.0],
                          "lifetime_months": [20.0, 20.0, 10.0], "cost": [500.0, 10.0, 100.0]})  # fmt: skip
    out = recommend(frame, Budget(), np.random.default_rng(0))
    assert out[["account_id", "play"]].values.tolist() == [[1, "call"], [2, "call"]]
    assert out["ev"].tolist() == pytest.approx([0.10 * 1000 * 20 - 500, 0.05 * 400 * 10 - 100])
    assert set(out["source"]) == {"model"} and out["treat"].all()


def test_one_play_per_account_within_both_budgets():
    frame = book(np.random.default_rng(1), 400)
    budget = Budget(csm_hours=60, offer_spend=20_000)
    out = recommend(frame, budget, np.random.default_rng(0))
    assert out["account_id"].is_unique and (out["ev"] > 0).all()
    assert out["csm_hours"].sum() <= 60 + 1e-9 and out["offer_spend"].sum() <= 20_000 + 1e-9
    assert out["csm_hours"].sum() > 50  # the budget is used, not left idle


def test_a_free_play_with_a_small_value_does_not_crowd_out_a_valuable_one():
    frame = pd.DataFrame({"account_id": [1, 1], "play": ["journey", "call"],
                          "uplift": [0.001, 0.2], "mrr": [1000.0] * 2,
                          "lifetime_months": [12.0] * 2, "cost": [1.0, 50.0],
                          "csm_hours": [0.0, 1.0]})  # fmt: skip
    out = recommend(frame, Budget(csm_hours=5), np.random.default_rng(0))
    assert out["play"].tolist() == ["call"]


def brute_force(frame: pd.DataFrame, ev: np.ndarray, budget: Budget) -> float:
    """Return the best total EV over every assignment of at most one play per account."""
    accounts = frame["account_id"].unique()
    options = [[None, *np.flatnonzero(frame["account_id"].to_numpy() == a)] for a in accounts]
    hours, spend = frame["csm_hours"].to_numpy(), frame["offer_spend"].to_numpy()
    best = 0.0
    for pick in itertools.product(*options):
        rows = [r for r in pick if r is not None]
        if hours[rows].sum() <= budget.csm_hours and spend[rows].sum() <= budget.offer_spend:
            best = max(best, ev[rows].sum())
    return best


def test_selection_is_close_to_the_exhaustive_optimum():
    """Against every assignment of small books: at least 90 % of the optimum on average."""
    ratios = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        frame = book(rng, 7)
        ev = frame["uplift"] * frame["mrr"] * frame["lifetime_months"] - frame["cost"]
        budget = Budget(csm_hours=4.0, offer_spend=3000.0)
        rows = select_under_budget(frame, ev.to_numpy(), budget)
        assert frame["account_id"].iloc[rows].is_unique
        assert frame["csm_hours"].iloc[rows].sum() <= 4.0 + 1e-9
        optimum = brute_force(frame, ev.to_numpy(), budget)
        ratios.append(ev.iloc[rows].sum() / optimum if optimum > 0 else 1.0)
    assert min(ratios) >= 0.6 and np.mean(ratios) >= 0.9


def test_holdout_accounts_go_through_selection_but_are_never_treated():
    rng = np.random.default_rng(3)
    frame = book(rng, 300)
    held = draw_holdout(300, 0.2, rng)
    frame["holdout"] = np.repeat(held, 3)
    out = recommend(frame, Budget(csm_hours=80), rng)
    chosen_held = out["account_id"].isin(np.flatnonzero(held))
    assert (out["treat"] == ~chosen_held).all()
    assert 0.1 < chosen_held.mean() < 0.3  # the holdout is chosen like everyone else


def test_thompson_sampling_explores_plays_without_a_model():
    """NaN uplift is drawn from Beta posteriors: their mean difference, spread by the data."""
    rng = np.random.default_rng(4)
    counts = posterior_counts(np.array([1, 1, 1, 0, 1, 0, 0, 1]),
                              np.array([0, 0, 0, 0, HOLDOUT, HOLDOUT, HOLDOUT, HOLDOUT]), 2)  # fmt: skip
    assert counts.tolist() == [[3, 1, 2, 2], [0, 0, 2, 2]]
    n = 20_000
    frame = candidate_frame(np.arange(n), ["a", "b"], np.full((n, 2), np.nan), np.full(n, 100.0),
                            np.full(n, 1.0), {"cost": np.zeros((n, 2))}, counts)  # fmt: skip
    out = recommend(frame, Budget(), rng)
    assert set(out["source"]) == {"thompson"}
    # Play a: Beta(4, 2) − Beta(3, 3) has mean 4/6 − 1/2; play b: Beta(1, 1) − Beta(3, 3), mean 0.
    share_a = (out["play"] == "a").mean()
    assert 0.6 < share_a < 0.9 and (out["uplift"] > 0).all()


def test_remaining_lifetime_from_the_churn_probability():
    monthly = 0.05
    p90 = 1 - math.exp(-monthly * 90 / 30.4375)
    assert remaining_lifetime_months(np.array([p90]), 90)[0] == pytest.approx(1 / monthly)
    assert remaining_lifetime_months(np.array([0.0]), 90)[0] == 120.0
