"""The pooled cloglog uplift model: recovers who a play helps, shrinks plays with few runs."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.plays.uplift_plays import HOLDOUT
from tenure.plays.uplift_pooled import PooledUplift, cloglog_offset


def book(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (X, retained, play, true uplift per play): column 0 is the calibrated churn risk.

    Play 0 cuts the hazard by half where x1 > 0, play 1 by a fifth everywhere.
    """
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(0.05, 0.5, n), rng.normal(size=n), rng.normal(size=n)])
    cut = np.column_stack([np.where(x[:, 1] > 0, 0.5, 0.0), np.full(n, 0.2)])
    control = 1 - x[:, 0]
    uplift = control[:, None] ** (1 - cut) - control[:, None]
    play = rng.choice([HOLDOUT, 0, 1], n)
    arm_cut = np.where(play == HOLDOUT, 0.0, cut[np.arange(n), np.maximum(play, 0)])
    retained = rng.random(n) < control ** (1 - arm_cut)
    return x, retained.astype(float), play, uplift


def test_pooled_ranks_accounts_by_their_true_uplift_out_of_sample():
    x, y, play, _ = book(20_000, 1)
    model = PooledUplift(2, baseline=0, penalties=(0.0001, 0.001, 0.001)).fit(x, y, play)
    fresh, _, _, truth = book(5_000, 2)
    estimate = model.predict(fresh)
    assert np.corrcoef(estimate[:, 0], truth[:, 0])[0, 1] > 0.7
    assert abs(estimate[:, 1].mean() - truth[:, 1].mean()) < 0.02


def test_a_play_with_too_few_runs_gets_no_estimate():
    x, y, play, _ = book(3_000, 3)
    play = np.where((play == 1) & (np.arange(len(play)) % 20 != 0), HOLDOUT, play)
    out = PooledUplift(2, min_rows=100, baseline=0).fit(x, y, play).predict(x[:10])
    assert np.isnan(out[:, 1]).all() and np.isfinite(out[:, 0]).all()


def test_without_a_baseline_column_the_control_is_learned_from_the_holdout():
    x, y, play, _ = book(4_000, 4)
    out = PooledUplift(2, modifiers=lambda a: a[:, 1:]).fit(x, y, play).predict(x[:50])
    assert out.shape == (50, 2) and np.isfinite(out).all()


def test_too_few_holdout_runs_is_an_error():
    x, y, play, _ = book(500, 5)
    with pytest.raises(ValueError, match="holdout"):
        PooledUplift(2, min_rows=400).fit(x, y, play)


def test_cloglog_offset_inverts_to_the_churn_probability():
    p = np.array([0.01, 0.2, 0.7])
    assert np.allclose(1 - np.exp(-np.exp(cloglog_offset(p))), p)
