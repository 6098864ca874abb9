"""Measure scoring, re-weighting, tiers and reasons (pure functions)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import percentileofscore

from tenure.health.scorecards import ScorecardDefinition, default_scorecards
from tenure.health.scoring import (
    missing_measures,
    percentile_scores,
    points_before,
    quantile_grid,
    reasons,
    score_accounts,
    threshold_scores,
)


def card(**overrides: object) -> ScorecardDefinition:
    data = {
        "name": "t",
        "measure": [
            {"name": "usage_breadth", "weight": 30, "thresholds": [[0, 0], [10, 100]]},
            {"name": "nps", "weight": 10, "thresholds": [[0, 0], [10, 100]]},
            {"name": "login_recency", "weight": 60, "thresholds": [[0, 100], [30, 0]]},
        ],
    }
    return ScorecardDefinition.model_validate({**data, **overrides})


def test_thresholds_interpolate_linearly_and_clamp_beyond_the_ends():
    values = np.array([-5.0, 0.0, 2.5, 5.0, 10.0, 99.0, np.nan])
    got = threshold_scores(values, [(0, 0), (5, 50), (10, 100)])
    np.testing.assert_allclose(got[:6], [0, 0, 25, 50, 100, 100])
    assert np.isnan(got[6])


def test_percentile_against_the_grid_matches_scipy_mean_rank():
    rng = np.random.default_rng(1)
    population = rng.gamma(2.0, 10.0, size=20_000)
    grid = quantile_grid(population)
    probes = np.array([1.0, 5.0, 20.0, 40.0, 90.0])
    ours = percentile_scores(probes, grid, higher_is_better=True)
    theirs = [percentileofscore(population, p, kind="mean") for p in probes]
    np.testing.assert_allclose(ours, theirs, atol=0.6)  # 201 quantiles: within half a point
    flipped = percentile_scores(probes, grid, higher_is_better=False)
    np.testing.assert_allclose(flipped, 100 - ours)


def test_missing_measures_reweight_the_rest_and_points_sum_to_the_score():
    values = pd.DataFrame(
        {"usage_breadth": [5.0, 10.0], "nps": [np.nan, 10.0], "login_recency": [0.0, 30.0]}
    )
    scored = score_accounts(card(), np.array([1, 2]), values, {})
    # account 1: nps missing → (30·50 + 60·100) / 90
    assert scored.total[0] == pytest.approx((30 * 50 + 60 * 100) / 90, abs=0.01)
    # account 2: all present → (30·100 + 10·100 + 60·0) / 100
    assert scored.total[1] == pytest.approx(40.0)
    measures = scored.measures_json()
    assert missing_measures(measures[0]) == ["nps"]
    assert measures[0]["nps"] == {
        "value": None, "score": None, "weight": 10.0, "points": 0.0, "missing": True,
    }  # fmt: skip
    assert sum(m["points"] for m in measures[0].values()) == pytest.approx(
        scored.total[0], abs=0.02
    )
    assert scored.tiers == ["green", "red"]


@pytest.mark.parametrize(
    ("score", "tier"), [(0, "red"), (50, "red"), (50.4, "red"), (50.6, "yellow"), (75, "yellow"),
                        (75.6, "green"), (100, "green")],
)  # fmt: skip
def test_default_tiers_red_to_50_yellow_to_75_green_above(score, tier):
    assert default_scorecards()[0].tier_of(score) == tier


def test_custom_tier_names_and_cut_offs():
    custom = card(tier=[{"name": "at-risk", "max": 30}, {"name": "ok", "max": 100}])
    assert (custom.tier_of(30), custom.tier_of(31)) == ("at-risk", "ok")


def test_reason_names_the_measure_whose_points_moved_most_in_seven_days():
    values = pd.DataFrame(
        {
            "usage_breadth": [5.0, 5.0, 5.0],
            "nps": [2.0, 2.0, np.nan],
            "login_recency": [3.0, 3.0, 3.0],
        }
    )
    scored = score_accounts(card(), np.array([1, 2, 3]), values, {})
    # now: breadth 30·50/100 = 15, nps 10·20/100 = 2, login 60·90/100 = 54 points
    stored = pd.DataFrame(
        {"usage_breadth": [14.0, 15.0], "nps": [9.0, 2.0], "login_recency": [54.0, 54.0]},
        index=pd.Index([1, 2], name="account_id"),
    )
    before = points_before(scored, stored)
    assert np.isnan(before[2]).all()
    got = reasons(scored, before)
    assert got[0] == "nps -7.0 points in 7 days (value 2)"
    assert got[1] == "no measure moved in 7 days"
    assert got[2] == "weakest: usage_breadth (score 50, value 5)"  # nps is missing


def test_measures_text_is_exactly_what_json_dumps_writes():
    values = pd.DataFrame(
        {
            "usage_breadth": [5.0, 1 / 3, 1e-7],
            "nps": [np.nan, 10.0, 7.123456],
            "login_recency": [0.0, 30.0, 12.5],
        }
    )
    scored = score_accounts(card(), np.array([1, 2, 3]), values, {})
    assert scored.measures_text() == [json.dumps(m) for m in scored.measures_json()]
