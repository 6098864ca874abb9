"""The churn model on the books most users have: 300 to 3,000 accounts × 12 months.

Each book is simulated and imported once per session (`small_book`); training runs on the
labelled snapshots exactly as `tenure model train` does. The 3,000-account books and the
extra seeds are marked slow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tenure.churn import drift, registry
from tenure.churn.fitted_model import tier_labels
from tenure.churn.flows import TrainingData, train_and_register, training_data
from tenure.churn.oracle import bayes_comparison
from tenure.churn.stages import churn_scores
from tenure.churn.training import TrainingResult, fit_candidate, train_models
from tenure.churn.validation import bootstrap_auc_interval, skill_check
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.quality.drift import drift_summary
from tenure.quality.rendering import drift_view
from tenure.simulate import SimulationConfig, simulate
from tenure.stage import StageContext
from tenure.web.model_card import model_context

from ..pg_switch import copy_data_dir
from .conftest import END, LAST_DAY

Book = tuple[TrainingData, TrainingResult]
SMALL = [(300, 7), (300, 11), (1000, 7)]
LARGER = [
    pytest.param(1000, 12, marks=pytest.mark.slow),
    pytest.param(3000, 7, marks=pytest.mark.slow),
    pytest.param(3000, 11, marks=pytest.mark.slow),
]


@pytest.fixture(scope="session")
def small_book(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, int], Path]:
    """Return a function giving the data dir of an imported N-account book (read-only)."""
    books: dict[tuple[int, int], Path] = {}

    def book(accounts: int, seed: int) -> Path:
        if (accounts, seed) not in books:
            root = tmp_path_factory.mktemp(f"book_{accounts}_{seed}")
            config = SimulationConfig(accounts=accounts, months=12, seed=seed, end=END)
            simulate(config, root / "sim")
            data = root / "data"
            result = CliRunner().invoke(
                app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
            )
            assert result.exit_code in (0, 3), result.output
            books[accounts, seed] = data
        return books[accounts, seed]

    return book


@pytest.fixture(scope="session")
def trained(small_book: Callable[[int, int], Path]) -> Callable[[int, int], Book]:
    """Return a function giving a book's training data and its trained models (cached)."""
    results: dict[tuple[int, int], Book] = {}

    def train(accounts: int, seed: int) -> Book:
        if (accounts, seed) not in results:
            settings = Settings(data_dir=small_book(accounts, seed))
            data = training_data(settings, get_engine(settings))
            results[accounts, seed] = (data, train_models(data.frame, data.split, seed=0))
        return results[accounts, seed]

    return train


def check_served_model(data: TrainingData, result: TrainingResult) -> None:
    """Assert the served model varies, matches the baseline and tiers no day mostly "high"."""
    p = result.validation_probability
    assert np.unique(p).size > 10, "the served model is (nearly) constant"
    assert result.metrics["auc"] >= result.baseline_metrics["auc"] - 0.02
    for day, rows in data.frame.groupby("as_of"):
        tiers = result.model.risk_tiers(result.model.predict_proba(rows))
        assert np.mean(tiers == "high") <= 0.5, f"{day}: more than half the accounts high"
        assert len(set(tiers)) > 1, f"{day}: every account in one tier"


@pytest.mark.parametrize(("accounts", "seed"), [*SMALL, *LARGER])
def test_the_served_model_is_never_constant_and_matches_the_baseline(
    trained: Callable[[int, int], Book], accounts: int, seed: int
) -> None:
    """On 300 to 3,000 accounts the served model ranks, ≥ baseline − 0.02, tiers spread."""
    data, result = trained(accounts, seed)
    check_served_model(data, result)
    assert result.skill is not None and result.skill.distinct_predictions > 10


@pytest.mark.parametrize(
    ("accounts", "seed"), [(1000, 7), pytest.param(1000, 12, marks=pytest.mark.slow)]
)
def test_a_thousand_accounts_reach_four_fifths_of_the_bayes_optimal_auc(
    trained: Callable[[int, int], Book], accounts: int, seed: int
) -> None:
    """On 1,000 × 12 the served AUC is at least 0.80 × the simulator's Bayes-optimal AUC."""
    data, result = trained(accounts, seed)
    bayes = bayes_comparison(data.truth, result.frames["validate"], result.validation_probability)
    assert bayes is not None and bayes["ratio"] >= 0.80, bayes
    assert result.skill is not None and result.skill.skill


def shuffled(data: TrainingData, seed: int) -> TrainingData:
    """Return the book with its churn labels shuffled within each snapshot: no signal left."""
    rng = np.random.default_rng(seed)
    frame = data.frame.copy()
    for _, index in frame.groupby("as_of").groups.items():
        frame.loc[index, "churned"] = rng.permutation(frame.loc[index, "churned"].to_numpy())
    return TrainingData(frame, data.split, data.horizon, data.names, None, data.window)


@pytest.mark.parametrize("shuffle", [1, 2, 3])
def test_a_book_without_signal_shows_no_skill(
    trained: Callable[[int, int], Book], shuffle: int
) -> None:
    """With labels shuffled, the served model's AUC interval does not exclude chance."""
    data, _ = trained(1000, 7)
    noise = shuffled(data, shuffle)
    result = train_models(noise.frame, noise.split, seed=0)
    assert result.skill is not None and not result.skill.skill
    assert "not enough signal yet" in result.skill.verdict


def test_a_model_without_skill_is_never_promoted_and_scoring_says_why(
    small_book: Callable[[int, int], Path], trained: Callable[[int, int], Book], tmp_path: Path
) -> None:
    """Not even the first model is promoted without skill; the scores stage explains it."""
    data, _ = trained(300, 7)
    settings = Settings(data_dir=tmp_path / "data")
    copy_data_dir(small_book(300, 7), settings.data_dir)
    outcome = train_and_register(settings, shuffled(data, 1))
    assert outcome["promoted"] is False and outcome["skill"] is False
    assert registry.champion_version(settings, "churn") is None
    engine = get_engine(settings)
    summary = churn_scores(StageContext(settings=settings, engine=engine, as_of=LAST_DAY))
    with Session(engine) as db_session:
        page = model_context(settings, db_session)
    engine.dispose()
    assert page["model"] is None and page["no_skill"]["verdict"].startswith("not enough signal")
    assert len(page["no_skill"]["would_help"]) == 3
    assert summary["scored"] == 0
    assert "not enough signal yet" in summary["skipped"]
    assert "more accounts" in summary["skipped"] and "more history" in summary["skipped"]


def test_model_train_json_reports_capacity_and_skill(
    small_book: Callable[[int, int], Path], tmp_path: Path
) -> None:
    """`tenure model train --json` gives the chosen hyper-parameters and the skill check."""
    data = tmp_path / "data"
    copy_data_dir(small_book(300, 7), data)
    result = CliRunner().invoke(app, ["--data-dir", str(data), "model", "train", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    metrics = out["metrics"]
    assert metrics["auc_ci_low"] <= metrics["auc"] <= metrics["auc_ci_high"]
    assert isinstance(out["skill"], bool)
    assert out["promoted"] is out["skill"]  # no champion yet: skill alone decides
    assert {"max_depth", "min_child_weight", "n_estimators", "reg_lambda"} <= set(
        out["capacity"]["params"]
    )
    assert out["capacity"]["chosen_on"] == out["data_window"]["calibrate"]
    assert out["served_model"] in ("xgboost", "logistic")


def test_the_logistic_explains_its_margin_exactly(trained: Callable[[int, int], Book]) -> None:
    """The spline logistic's per-feature contributions plus its intercept equal its margin."""
    _, result = trained(300, 7)
    model = result.model
    logistic = fit_candidate("logistic", result.frames, model.numeric, model.categorical, 0)
    rows = result.frames["validate"]
    explained = logistic.explain(rows)
    margin = explained.contributions.sum(axis=1) + explained.bias
    np.testing.assert_allclose(margin, logistic.margin(rows), atol=1e-8)
    assert explained.contributions.shape == (len(rows), len(logistic.columns))


def test_tiers_follow_the_base_rate_and_never_take_everyone() -> None:
    """High needs 3× the base rate and the top decile; a flat day has no high accounts."""
    flat = tier_labels(np.full(500, 0.2), base_rate=0.04)  # 5× the base rate, but all tied
    assert (flat == "high").sum() == 0 and (flat == "medium").sum() == 0
    spread = tier_labels(np.linspace(0.0, 0.5, 1000), base_rate=0.04)
    assert (spread == "high").sum() == 100  # the top decile, all ≥ 0.12
    assert (spread == "medium").sum() == 150  # the rest of the top quartile, all ≥ 0.06
    low_day = tier_labels(np.linspace(0.0, 0.05, 1000), base_rate=0.04)
    assert (low_day == "high").sum() == 0  # nobody at 3× the base rate


def test_a_constant_model_shows_no_skill() -> None:
    """A constant's AUC interval is exactly 0.5; a strong ranker's excludes it."""
    y = np.r_[np.zeros(180, int), np.ones(20, int)]
    assert bootstrap_auc_interval(y, np.full(200, 0.04)) == pytest.approx((0.5, 0.5))
    assert not skill_check(y, np.full(200, 0.04), training_days=3).skill
    good = skill_check(y, y + np.linspace(0, 0.5, 200), training_days=3)
    assert good.skill and good.auc_ci_low > 0.5


def test_a_drifted_score_marks_the_days_tiers_provisional() -> None:
    """A score PSI above the threshold flags the day's tiers in `tenure dq report`."""
    rng = np.random.default_rng(7)
    reference = drift.numeric_reference(pd.Series(rng.beta(2, 40, 500)))
    shifted = rng.beta(2, 8, 500)  # the whole book scores far above the validation day
    report = drift.drift_report({}, reference, pd.DataFrame(), shifted)
    report.update(as_of="2025-06-30", model="churn", model_version="1", tiers_provisional=True)
    assert report["score_status"] == "drifted"
    section = drift_summary(report, day=LAST_DAY, today=LAST_DAY)
    assert section["tiers_provisional"] is True
    assert "provisional" in drift_view(section)["provisional"]
    calm = drift_summary({**report, "tiers_provisional": False}, day=LAST_DAY, today=LAST_DAY)
    assert drift_view(calm)["provisional"] is None
