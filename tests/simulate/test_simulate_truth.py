"""The ground truth: the exact formula, its tables, and its calibration against outcomes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tenure.simulate import MarkovChain, churn_probabilities
from tenure.simulate.chain import cumulative_transitions, draw_churn, draw_next_states
from tenure.simulate.evaluate import auc, churn_dates, label_truth
from tenure.simulate.truth import build_truth_table

# A small 3-state chain with large hazards, so that a Monte-Carlo run resolves them well.
SMALL = MarkovChain(
    transitions=np.array([[0.90, 0.08, 0.02], [0.05, 0.85, 0.10], [0.00, 0.10, 0.90]]),
    hazards=np.array([0.002, 0.01, 0.04]),
    states=("good", "meh", "bad"),
)


def monte_carlo_churn(
    chain: MarkovChain, start: int, multipliers: np.ndarray, n: int, seed: int
) -> float:
    """Simulate n accounts from one state with the simulator's own step functions."""
    rng = np.random.default_rng(seed)
    states = np.full(n, start, dtype=np.int8)
    alive = np.ones(n, dtype=bool)
    cumulative = cumulative_transitions(chain)
    for m in multipliers:  # one multiplier per day: hazard on the day, then transition
        idx = np.flatnonzero(alive)
        churned = draw_churn(rng, np.asarray(chain.hazards), states[idx], np.full(len(idx), m))
        alive[idx[churned]] = False
        keep = idx[~churned]
        states[keep] = draw_next_states(rng, cumulative, states[keep])
    return 1.0 - alive.mean()


@pytest.mark.parametrize("start", [0, 1, 2])
def test_exact_formula_matches_monte_carlo(start: int) -> None:
    n, horizon, m = 40_000, 30, 1.5
    exact = churn_probabilities(SMALL, m, horizon)[start]
    simulated = monte_carlo_churn(SMALL, start, np.full(horizon, m), n, seed=start)
    assert abs(simulated - exact) < 4.5 * np.sqrt(exact * (1 - exact) / n)


def test_switched_formula_matches_monte_carlo() -> None:
    n, horizon, m, k = 40_000, 30, 2.0, 12
    exact = churn_probabilities(SMALL, m, horizon, switched=m * 0.25, k=k)[1]
    days = np.r_[np.full(k, m), np.full(horizon - k, m * 0.25)]
    simulated = monte_carlo_churn(SMALL, 1, days, n, seed=99)
    assert abs(simulated - exact) < 4.5 * np.sqrt(exact * (1 - exact) / n)
    assert churn_probabilities(SMALL, m, horizon)[1] > exact


def test_one_day_is_the_hazard() -> None:
    assert np.allclose(churn_probabilities(SMALL, 0.5, 1), 0.5 * SMALL.hazards)


def test_tables_match_the_formula() -> None:
    chain, ms = MarkovChain(), np.array([0.4, 1.0, 2.5])
    table = build_truth_table(chain, ms, effect=0.3, horizon=90)
    for i, m in enumerate(ms):
        assert np.allclose(table.untreated[i], churn_probabilities(chain, m, 90))
        for k in (0, 1, 45, 90):
            switched = churn_probabilities(chain, m, 90, switched=m * 0.7, k=k)
            assert np.allclose(table.treated[i, k], switched)


def labelled_truth(folder: Path, horizon: int, spacing: int) -> pd.DataFrame:
    """Return truth rows every ``spacing`` days that have a full follow-up, with labels."""
    truth = pq.read_table(folder / "truth.parquet").to_pandas()
    subs = pd.read_csv(folder / "subscriptions.csv", dtype=str, keep_default_na=False)
    subs["ended_at"] = subs["ended_at"].replace("", None)
    first, last = truth["date"].min(), truth["date"].max()
    dates = [
        first + timedelta(days=d) for d in range(0, (last - first).days - horizon + 1, spacing)
    ]
    rows = truth[truth["date"].isin(dates)].copy()
    rows["churned"] = label_truth(rows, churn_dates(subs), horizon)
    return rows


def test_truth_is_calibrated_per_state(truth_dataset: Path) -> None:
    rows = labelled_truth(truth_dataset, horizon=30, spacing=30)
    for state, group in rows.groupby("state"):
        p = group["p_churn_30"].to_numpy(np.float64)
        sd = np.sqrt((p * (1 - p)).sum()) / len(p)
        gap = group["churned"].mean() - p.mean()
        assert abs(gap) < 4.5 * sd + 1e-3, (state, len(p), group["churned"].mean(), p.mean())
    p = rows["p_churn_30"].to_numpy(np.float64)
    assert abs(rows["churned"].mean() - p.mean()) < 4 * np.sqrt((p * (1 - p)).sum()) / len(p)


def test_churn_and_auc_have_realistic_magnitudes(truth_dataset: Path) -> None:
    monthly = labelled_truth(truth_dataset, horizon=30, spacing=30)["churned"].mean()
    assert 0.005 < monthly < 0.04
    rows = labelled_truth(truth_dataset, horizon=90, spacing=7)
    assert 0.75 < auc(rows["p_churn_90"].to_numpy(), rows["churned"].to_numpy()) < 0.95


def test_auc_reference_values() -> None:
    # Hand-derived: of the 4 (positive, negative) pairs 3 are ordered right, 1 tied → 3.5 / 4.
    assert auc(np.array([0.9, 0.5, 0.5, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(0.875)
