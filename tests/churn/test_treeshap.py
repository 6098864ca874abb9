"""The vectorised tree SHAP gives XGBoost's own pred_contribs values, or declines."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost

from tenure.churn import treeshap
from tenure.churn.estimators import SERVED_XGBOOST_PARAMS


def _data(rows: int, columns: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return features with interactions and 10 % missing values, and a noisy 0/1 target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns)).astype(np.float32)
    signal = x[:, 0] + x[:, 1 % columns] * x[:, 2 % columns] - np.abs(x[:, 3 % columns])
    x[rng.random((rows, columns)) < 0.1] = np.nan
    y = (signal + rng.normal(size=rows) > 0).astype(int)
    return x, y


def _booster(x: np.ndarray, y: np.ndarray, **params: float) -> xgboost.Booster:
    settings = {**SERVED_XGBOOST_PARAMS, "n_estimators": 200, **params}
    model = xgboost.XGBClassifier(**settings, tree_method="hist", n_jobs=1, random_state=0)
    return model.fit(x, y).get_booster()


def _reference(booster: xgboost.Booster, x: np.ndarray) -> np.ndarray:
    return booster.predict(xgboost.DMatrix(x), pred_contribs=True)


@pytest.mark.parametrize(
    ("columns", "params"),
    [
        (12, {}),  # the served settings: depth 2, colsample 0.5
        (2, {"colsample_bytree": 1.0}),  # two features: a tree often splits one twice
        (6, {"max_depth": 1}),  # stumps
        (6, {"min_child_weight": 1e6}),  # no split ever pays: single-leaf trees
    ],
)
def test_matches_pred_contribs(columns: int, params: dict[str, float]) -> None:
    """Per-feature values and bias equal pred_contribs on unseen rows with missing values."""
    x, y = _data(3000, columns)
    booster = _booster(x[:2000], y[:2000], **params)
    explainer = treeshap.from_booster(booster)
    assert explainer is not None
    ours = explainer.contributions(x[2000:])
    np.testing.assert_allclose(ours, _reference(booster, x[2000:]), atol=2e-5)


def test_trees_sharing_splits_compare_each_once() -> None:
    """Counts with few values make trees reuse splits: each is compared once, values unchanged."""
    x, y = _data(3000, 6, seed=2)
    x = np.round(x * 2)  # a handful of distinct values per column (NaN kept)
    booster = _booster(x[:2000], y[:2000])
    explainer = treeshap.from_booster(booster)
    assert len(explainer.split_column) < explainer.n_trees * treeshap.SPLITS / 4
    ours = explainer.contributions(x[2000:])
    np.testing.assert_allclose(ours, _reference(booster, x[2000:]), atol=2e-5)


def test_contributions_sum_to_the_margin() -> None:
    """SHAP values plus bias add up to the model's log-odds for every row."""
    x, y = _data(3000, 12, seed=1)
    booster = _booster(x[:2000], y[:2000])
    ours = treeshap.from_booster(booster).contributions(x[2000:])
    margin = booster.predict(xgboost.DMatrix(x[2000:]), output_margin=True)
    np.testing.assert_allclose(ours.sum(axis=1), margin, atol=1e-4)


def test_deeper_trees_are_declined() -> None:
    """A depth-4 model is not handled here: the caller falls back to pred_contribs."""
    x, y = _data(2000, 8)
    assert treeshap.from_booster(_booster(x, y, max_depth=4)) is None


def test_more_rows_than_one_block() -> None:
    """Rows split over several blocks (and threads) land in their own places."""
    x, y = _data(treeshap.CHUNK_ROWS * 2 + 77, 6, seed=2)
    booster = _booster(x[:2000], y[:2000])
    ours = treeshap.from_booster(booster).contributions(x)
    np.testing.assert_allclose(ours, _reference(booster, x), atol=2e-5)
