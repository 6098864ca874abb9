"""Per-play uplift from one shared holdout: finds which play helps whom on a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.plays.nba import fit_play_models, predict_uplift
from tenure.plays.uplift_plays import HOLDOUT, SharedControlUplift


def runs(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return features, retained, play (or HOLDOUT) and the true uplift of plays 0 and 1.

    Play 0 lifts retention by 0.25 where x0 > 0.5, play 1 by 0.25 where x0 <= 0.5; base
    retention falls with x1. Play 2 has a handful of runs only.
    """
    rng = np.random.default_rng(seed)
    x = rng.random((rows, 3))
    play = rng.choice([HOLDOUT, 0, 1, 2], rows, p=[0.49, 0.25, 0.25, 0.01])
    effect = np.column_stack(
        [np.where(x[:, 0] > 0.5, 0.25, 0.0), np.where(x[:, 0] > 0.5, 0.0, 0.25)]
    )
    base = 0.7 - 0.3 * x[:, 1]
    lift = np.where(play == 0, effect[:, 0], np.where(play == 1, effect[:, 1], 0.0))
    retained = (rng.random(rows) < base + lift).astype(float)
    return x, retained, play, effect


def test_each_play_is_credited_where_it_works():
    x, y, play, _ = runs(8000, 1)
    model = SharedControlUplift(3, min_rows=100, seed=0).fit(x, y, play)
    test_x, _, _, effect = runs(4000, 2)
    uplift = model.predict(test_x)
    assert np.isnan(uplift[:, 2]).all()  # too few runs: left to Thompson sampling
    best = uplift[:, :2].argmax(axis=1)
    assert (best == effect.argmax(axis=1)).mean() > 0.85
    high = test_x[:, 0] > 0.5
    assert uplift[high, 0].mean() == pytest.approx(0.25, abs=0.08)
    assert uplift[~high, 0].mean() == pytest.approx(0.0, abs=0.08)


def test_without_enough_holdout_there_is_no_model():
    x, y, play, _ = runs(300, 3)
    assert fit_play_models(x, y, play, 3, min_rows=500) is None
    assert np.isnan(predict_uplift(None, x, 3)).all()
    with pytest.raises(ValueError, match="holdout runs"):
        SharedControlUplift(3, min_rows=500).fit(x, y, play)
