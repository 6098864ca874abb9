"""A simulated SaaS book for the churn tests: simulated and imported once per session.

600 accounts × 12 months ending 2025-07-01 (events 2024-07-01 … 2025-06-30). Tests that
write (features, MLflow runs, scores) work on a copy of the imported data dir.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate

from ..pg_switch import copy_data_dir

END = date(2025, 7, 1)
LAST_DAY = date(2025, 6, 30)


@pytest.fixture(scope="session")
def churn_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a data dir holding the imported simulated book (treat as read-only)."""
    root = tmp_path_factory.mktemp("churn_book")
    simulate(SimulationConfig(accounts=600, months=12, seed=31, end=END), root / "sim")
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    assert result.exit_code == 0, result.output
    return data


@pytest.fixture(scope="session")
def trained_book(churn_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a copy of the book with a trained champion and scores for the last day."""
    from tenure.churn.flows import train_churn_model
    from tenure.churn.scoring import score_day
    from tenure.churn.stages import account_features
    from tenure.stage import StageContext

    data = tmp_path_factory.mktemp("trained") / "data"
    copy_data_dir(churn_book, data)
    settings = Settings(data_dir=data)
    engine = get_engine(settings)
    train_churn_model(settings, engine, horizon=90)
    account_features(StageContext(settings=settings, engine=engine, as_of=LAST_DAY))
    score_day(settings, engine, LAST_DAY)
    engine.dispose()
    return data


def copy_book(source: Path, tmp_path: Path) -> Settings:
    """Return settings for a private copy of a book's data dir."""
    data = tmp_path / "data"
    copy_data_dir(source, data)
    return Settings(data_dir=data)
