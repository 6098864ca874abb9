"""T- and X-learners find who a treatment helps on randomised data with a known effect."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tenure.cli.main import app
from tenure.plays import uplift_metrics as um
from tenure.plays.uplift import TLearner, XLearner
from tenure.plays.uplift_evaluation import evaluate, load_randomised


def randomised_book(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Return a randomised table whose effect is +0.30 for engaged accounts, −0.05 otherwise."""
    rng = np.random.default_rng(seed)
    engaged = rng.random(rows)
    seats = rng.integers(1, 50, rows)
    treated = rng.random(rows) < 0.5
    effect = np.where(engaged > 0.6, 0.30, -0.05)
    base = 0.2 + 0.2 * (seats > 25)
    retained = rng.random(rows) < base + effect * treated
    frame = pd.DataFrame({
        "account": [f"A{i}" for i in range(rows)],
        "engaged": engaged.round(4),
        "seats": seats,
        "plan": rng.choice(["basic", "pro"], rows),
        "arm": np.where(treated, "call", "none"),
        "retained": retained.astype(int),
    })  # fmt: skip
    return frame, effect


@pytest.mark.parametrize("learner", [TLearner, XLearner])
def test_learner_ranks_by_true_effect(learner):
    train, _ = randomised_book(3000, 1)
    test, effect = randomised_book(3000, 2)
    features = ["engaged", "seats"]
    model = learner(seed=0).fit(train[features], train["retained"], train["arm"] == "call")
    predicted = model.predict(test[features])
    assert np.corrcoef(predicted, effect)[0, 1] > 0.6
    y, t = test["retained"].to_numpy(), (test["arm"] == "call").to_numpy()
    assert um.qini_coefficient(y, t, predicted) > um.qini_coefficient(y, t, -predicted) + 0.2


def test_evaluate_cross_fits_and_covers_the_true_average(tmp_path):
    frame, effect = randomised_book(2400, 4)
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    table = load_randomised(path, treatment="arm", control="none", outcome="retained",
                            id_column="account")  # fmt: skip
    assert table.feature_names == ["engaged", "seats", "plan=basic", "plan=pro"]
    result = evaluate(table, "x_learner", folds=3)
    assert result["ate_ci_low"] <= effect.mean() <= result["ate_ci_high"]
    assert result["qini_auc"] > 0.1 and result["uplift_at_30"] > result["ate"]
    assert set(result["models"]) == {"t_learner", "x_learner"}


def test_cli_json_and_errors(tmp_path, cli):
    frame, _ = randomised_book(400, 6)
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    args = ["uplift", "evaluate", "--csv", str(path), "--treatment", "arm", "--control", "none",
            "--outcome", "retained", "--id", "account", "--folds", "2", "--json"]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    keys = {"qini_auc", "auuc", "uplift_at_10", "uplift_at_30", "ate", "ate_ci_low",
            "ate_ci_high", "n_rows", "model"}  # fmt: skip
    assert keys <= set(json.loads(result.output)) and json.loads(result.output)["n_rows"] == 400
    missing = cli.invoke(app, [*args[:7], "placebo", *args[8:]])
    assert missing.exit_code == 2 and "'placebo' not in column 'arm'" in missing.output
    frame["retained"] = frame["retained"].astype(str)
    frame.loc[7, "retained"] = "yes"
    frame.to_csv(path, index=False)
    bad = cli.invoke(app, args)
    assert bad.exit_code == 2 and "line 9, column 'retained'" in bad.output
