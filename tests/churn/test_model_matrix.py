"""The scoring matrix and one-hot codes match scikit-learn's encoder and pred_contribs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.preprocessing import OneHotEncoder

from tenure.churn.estimators import xgboost_model
from tenure.churn.fitted_model import ChurnModel, level_codes


@pytest.mark.parametrize("missing_in_training", [(), (None,), (np.nan,), (None, np.nan)])
def test_level_codes_match_the_one_hot_encoder(missing_in_training: tuple) -> None:
    """Known levels, None and NaN (each a level only if trained), and unseen values."""
    plans = ["pro", "starter", "pro", "team", *missing_in_training]
    train = pd.DataFrame({"plan": pd.Series(plans, dtype=object)})
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train)
    score = pd.Series(["team", None, np.nan, "enterprise", "pro", "starter"], dtype=object)
    expected = encoder.transform(score.to_frame("plan"))
    codes = level_codes(score, encoder.categories_[0])
    ours = np.zeros_like(expected)
    rows = np.flatnonzero(codes >= 0)
    ours[rows, codes[rows]] = 1.0
    np.testing.assert_array_equal(ours, expected)


def test_explain_folds_categories_and_matches_pred_contribs() -> None:
    """Shallow-tree SHAP per feature (one-hot summed) equals pred_contribs folded by hand."""
    rng = np.random.default_rng(3)
    rows = 3_000
    features = pd.DataFrame(
        {
            "logins": rng.poisson(5, rows).astype(float),
            "seats": rng.integers(1, 50, rows).astype(float),
            "plan": rng.choice(["starter", "pro", "team", None], rows).astype(object),
            "region": rng.choice(["eu", "us"], rows).astype(object),
        }
    )
    features.loc[rng.random(rows) < 0.1, "logins"] = np.nan
    pro = (features["plan"] == "pro").to_numpy()
    y = (rng.random(rows) < 0.2 + 0.3 * pro - 0.02 * np.nan_to_num(features["logins"])).astype(int)
    numeric, categorical = ["logins", "seats"], ["plan", "region"]
    pipeline = xgboost_model(numeric, categorical, n_jobs=1, params={
        "n_estimators": 60, "max_depth": 2, "learning_rate": 0.1})  # fmt: skip
    model = ChurnModel("xgboost", pipeline, numeric, categorical)
    pipeline.fit(model.frame(features[:2000]), y[:2000])
    scored = features[2000:].assign(plan=lambda f: f["plan"].replace("team", "unseen"))
    explained = model.explain(scored)
    prepared = pipeline[:-1].transform(model.frame(scored))
    raw = pipeline[-1].get_booster().predict(xgboost.DMatrix(prepared), pred_contribs=True)
    names = list(pipeline[:-1].get_feature_names_out())
    by_feature = [
        raw[:, [i for i, n in enumerate(names) if n.startswith(f"{kind}__{f}")]].sum(axis=1)
        for kind, f in [("numeric", "logins"), ("numeric", "seats"),
                        ("categorical", "plan_"), ("categorical", "region_")]
    ]  # fmt: skip
    np.testing.assert_allclose(explained.contributions, np.stack(by_feature, axis=1), atol=2e-5)
    np.testing.assert_allclose(explained.bias, raw[:, -1], atol=1e-5)
    np.testing.assert_array_equal(explained.numbers[:, 1], scored["seats"].to_numpy())
