"""Uplift per (account, play) from past plays and their holdouts, laid out as recommender input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tenure.plays.recommend import POSTERIOR_COLUMNS
from tenure.plays.uplift_plays import HOLDOUT, SharedControlUplift
from tenure.plays.uplift_pooled import PooledUplift

PlayModels = SharedControlUplift | PooledUplift


def posterior_counts(retained: np.ndarray, play: np.ndarray, n_plays: int) -> np.ndarray:
    """Return (n_plays × 4) counts: treated retained/churned, holdout retained/churned per play.

    ``play`` is each past run's play index, or HOLDOUT; the holdout is every play's control.
    """
    kept = np.asarray(retained, dtype=bool)
    index = np.where(play == HOLDOUT, n_plays, play)
    retained_n = np.bincount(index[kept], minlength=n_plays + 1)
    churned_n = np.bincount(index[~kept], minlength=n_plays + 1)
    out = np.empty((n_plays, 4))
    out[:, 0], out[:, 1] = retained_n[:n_plays], churned_n[:n_plays]
    out[:, 2], out[:, 3] = retained_n[n_plays], churned_n[n_plays]
    return out


def fit_play_models(
    features: np.ndarray,
    retained: np.ndarray,
    play: np.ndarray,
    n_plays: int,
    min_rows: int = 100,
    seed: int = 0,
    pooled: dict[str, Any] | None = None,
) -> PlayModels | None:
    """Fit the plays' uplift models (None without enough holdout runs to learn the control).

    ``pooled``: PooledUplift's options (``baseline``, ``modifiers``, ``penalties``) to fit the
    pooled model; None keeps the shared-control T-learner.
    """
    holdout = play == HOLDOUT
    if holdout.sum() < min_rows or len(np.unique(retained[holdout])) < 2:
        return None
    if pooled is not None:
        return PooledUplift(n_plays, min_rows, seed=seed, **pooled).fit(features, retained, play)
    return SharedControlUplift(n_plays, min_rows, seed).fit(features, retained, play)


def pooled_options(
    baseline: int | None, modifiers: Callable[[np.ndarray], np.ndarray] | None
) -> dict[str, Any]:
    """Return PooledUplift options: the churn-score column and the effect-modifier function."""
    return {"baseline": baseline, "modifiers": modifiers}


def predict_uplift(models: PlayModels | None, features: np.ndarray, n_plays: int = 0):
    """Return the (accounts × plays) uplift in retention; NaN where a play has no model."""
    if models is None:
        return np.full((len(features), n_plays), np.nan)
    return models.predict(features)


def candidate_frame(
    account_ids: np.ndarray,
    plays: list[str],
    uplift: np.ndarray,
    mrr: np.ndarray,
    lifetime_months: np.ndarray,
    costs: dict[str, np.ndarray],
    posterior: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return the long (account × play) frame `recommend` takes.

    ``costs`` holds (accounts × plays) matrices: ``cost`` and optionally ``csm_hours`` and
    ``offer_spend``. Rows whose uplift is NaN are explored with the posterior counts.
    """
    n, k = uplift.shape
    frame = pd.DataFrame({
        "account_id": np.repeat(account_ids, k),
        "play": pd.Categorical.from_codes(np.tile(np.arange(k), n), categories=list(plays)),
        "play_index": np.tile(np.arange(k), n),
        "uplift": uplift.ravel(),
        "mrr": np.repeat(mrr, k),
        "lifetime_months": np.repeat(lifetime_months, k),
        **{name: matrix.ravel() for name, matrix in costs.items()},
    })  # fmt: skip
    frame["explore"] = np.isnan(frame["uplift"].to_numpy())
    if posterior is not None:
        for c, name in enumerate(POSTERIOR_COLUMNS):
            frame[name] = np.tile(posterior[:, c], n)
    return frame
