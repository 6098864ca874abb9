"""Out-of-time training, calibration, champion/challenger, and the metric helpers."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.churn import drift, registry, validation
from tenure.churn.fitted_model import sigmoid
from tenure.churn.snapshots import read_feature_table, snapshot_dates
from tenure.churn.training import time_split
from tenure.cli.main import app
from tenure.config import Settings
from tenure.errors import InputError
from tenure.warehouse.connection import open_warehouse

from .conftest import LAST_DAY, copy_book


def test_split_is_out_of_time_and_labels_never_reach_the_validation_day() -> None:
    """Fit < calibrate < validate, and every training label window ends by the validation day."""
    days = snapshot_dates(date(2024, 9, 28), LAST_DAY, "monthly")
    split = time_split(days, LAST_DAY, 90)
    assert split.validate == date(2025, 3, 31)  # latest day with a complete 90-day window
    assert split.calibrate == date(2024, 12, 31)
    assert split.fit == (date(2024, 9, 30), date(2024, 10, 31), date(2024, 11, 30))
    weekly = time_split(snapshot_dates(date(2024, 9, 28), LAST_DAY, "weekly"), LAST_DAY, 30)
    assert (weekly.validate - weekly.calibrate).days >= 30
    with pytest.raises(InputError, match="at least two snapshots"):
        time_split(days[-5:], LAST_DAY, 90)


def test_training_logs_a_calibrated_champion_with_its_card(trained_book: Path) -> None:
    """The first model is promoted; the card carries window, features, metrics and versions."""
    settings = copy_book(trained_book, Path(trained_book).parent / "read")
    loaded = registry.load_version(settings, "churn")
    card, report = loaded.card, loaded.report
    assert loaded.version == "1"
    assert card["data_window"]["validate"] == "2025-03-31"
    assert "events_per_seat_30d" in card["features"]["numeric"]
    assert "plan" in card["features"]["categorical"]
    assert card["libraries"]["xgboost-cpu"].startswith("3.")
    m = report["metrics"]
    assert 0.6 < m["auc"] <= 1.0  # the simulated book is learnable
    assert m["top_decile_lift"] > 1.5
    assert 0.0 <= m["ece"] < 0.05
    # calibrated probabilities on average match the observed churn rate on later data
    assert (
        abs(np.mean([c["mean_probability"] for c in report["reliability_curve"]]) - m["churn_rate"])
        < 0.03
    )
    bayes = report["bayes_optimal"]
    assert bayes["rows"] == m["rows"] and 0.5 < bayes["bayes_optimal_auc"] <= 1.0
    assert bayes["ratio"] == pytest.approx(m["auc"] / bayes["bayes_optimal_auc"])


def test_contributions_sum_to_the_margin(trained_book: Path, tmp_path: Path) -> None:
    """XGBoost's tree-SHAP contributions plus bias equal the raw log-odds for every account."""
    settings = copy_book(trained_book, tmp_path)
    loaded = registry.load_version(settings, "churn")
    with open_warehouse(settings, read_only=True) as warehouse:
        features = read_feature_table(warehouse.con, LAST_DAY)
    contributions, bias = loaded.model.contributions(features)
    margin = loaded.model.margin(features)
    np.testing.assert_allclose(contributions.sum(axis=1).to_numpy() + bias, margin, atol=1e-4)
    calibrated = loaded.model.slope * margin + loaded.model.intercept
    np.testing.assert_allclose(sigmoid(calibrated), loaded.model.predict_proba(features))
    assert set(contributions.columns) == set(loaded.model.columns)  # one-hot folded back


def test_the_scoring_matrix_equals_the_pipelines(trained_book: Path) -> None:
    """Scoring builds the prepared matrix itself: the Pipeline's values, missing columns as NaN."""
    loaded = registry.load_version(Settings(data_dir=trained_book), "churn")
    model = loaded.model
    with open_warehouse(Settings(data_dir=trained_book), read_only=True) as warehouse:
        features = read_feature_table(warehouse.con, LAST_DAY)
    assert model.categorical, "the book's model should have a categorical feature"
    features = features.drop(columns=[model.numeric[0], model.categorical[-1]])  # not in the table
    features.loc[features.index[:5], model.categorical[0]] = None
    expected = model.pipeline[:-1].transform(model.frame(features)).astype(np.float32)
    numbers = model.number_columns(features)
    np.testing.assert_array_equal(model.model_columns(features, numbers).T, expected)
    assert np.isnan(numbers[0]).all()


def test_a_challenger_that_does_not_beat_the_champion_is_not_promoted(
    trained_book: Path, tmp_path: Path
) -> None:
    """Retraining the same data and seed ties the champion: kept as challenger; promote works."""
    settings = copy_book(trained_book, tmp_path)
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir)]
    result = runner.invoke(app, [*base, "model", "train", "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["version"] == "2" and trained["promoted"] is False
    comparison = trained["champion_comparison"]
    assert comparison["champion_auc_on_same_rows"] == pytest.approx(comparison["challenger_auc"])
    listed = json.loads(runner.invoke(app, [*base, "model", "list", "--json"]).stdout)
    assert [(v["version"], v["champion"]) for v in listed] == [("2", False), ("1", True)]
    assert runner.invoke(app, [*base, "model", "promote", "2"]).exit_code == 0
    assert registry.champion_version(settings, "churn") == "2"
    missing = runner.invoke(app, [*base, "model", "promote", "9"])
    assert missing.exit_code == 4 and "no version 9" in missing.output


def test_report_json_and_self_contained_html(trained_book: Path, tmp_path: Path) -> None:
    """`model report` prints one JSON object and writes HTML with Plotly charts, no remote assets."""
    settings = copy_book(trained_book, tmp_path)
    page = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(settings.data_dir), "model", "report", "--json", "--html", str(page)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("metrics", "reliability_curve", "gains", "importance", "data_window", "drift"):
        assert report[key], key
    assert report["drift"]["as_of"] == LAST_DAY.isoformat()
    text = page.read_text()
    # The model page's charts (same builders), drawn by Plotly.js inline: nothing remote.
    for chart in ("reliability", "gains", "lift", "importance", "drift"):
        assert f'id="chart-{chart}"' in text, chart
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", text)


def test_ece_lift_and_threshold_against_hand_computed_values() -> None:
    """Small cases worked by hand."""
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 0, 0])
    p = np.array([0.05, 0.05, 0.95, 0.85, 0.15, 0.55, 0.05, 0.05, 0.05, 0.45])
    # bins: [0,.1): 5 rows mean .05 rate 0; [.1,.2): .15 vs 0; [.4,.5): .45 vs 0; [.5,.6): .55 vs 1;
    # [.8,.9): .85 vs 1; [.9,1]: .95 vs 1 → (5·.05 + .15 + .45 + .45 + .15 + .05) / 10
    assert validation.expected_calibration_error(y, p) == pytest.approx(0.15)
    assert validation.top_decile_lift(y, p) == pytest.approx(1 / 0.3)
    assert validation.choose_threshold(y, p) == pytest.approx(0.46)
    gains = validation.gains_curve(y, p)
    assert gains[2]["share_of_churners"] == pytest.approx(1.0)


def test_psi_matches_a_hand_computed_value_and_is_zero_on_itself() -> None:
    """PSI of (0.5, 0.5) → (0.7, 0.3) = 0.2·ln(1.4) − 0.2·ln(0.6)."""
    assert drift.psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(0.2 * np.log(1.4) - 0.2 * np.log(0.6))
    values = pd.Series(np.arange(1000, dtype=float))
    reference = drift.numeric_reference(values)
    assert drift.feature_psi(reference, values) == pytest.approx(0.0, abs=1e-12)
    assert drift.feature_psi(reference, values + 500) > drift.DRIFTED
    levels = drift.categorical_reference(pd.Series(["a"] * 50 + ["b"] * 50))
    assert drift.feature_psi(levels, pd.Series(["a"] * 50 + ["c"] * 50)) > drift.DRIFTED


def test_only_important_drift_flags_the_model() -> None:
    """A shifted minor feature is listed but flags the model only without importance weights."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"usage": rng.normal(size=2000), "recency": rng.normal(size=2000)})
    references = drift.build_references(train, ["usage", "recency"], [])
    scores = rng.random(2000)
    score_reference = drift.numeric_reference(pd.Series(scores))
    today = train.assign(recency=train["recency"] + 3)
    weights = drift.importance_weights(
        [
            {"feature": "usage", "mean_abs_contribution": 0.9},
            {"feature": "recency", "mean_abs_contribution": 0.1},
        ]
    )
    minor = drift.drift_report(references, score_reference, today, scores, weights)
    assert minor["drifted_features"] == ["recency"]
    assert minor["drifted_importance_share"] == pytest.approx(0.1)
    assert minor["drifted"] is False
    assert drift.drift_report(references, score_reference, today, scores)["drifted"] is True
    major = train.assign(usage=train["usage"] + 3)
    assert drift.drift_report(references, score_reference, major, scores, weights)["drifted"]
    shifted_scores = np.clip(scores + 0.5, 0, 1)
    assert drift.drift_report(references, score_reference, train, shifted_scores, weights)[
        "drifted"
    ]
