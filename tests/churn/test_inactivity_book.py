"""A simulated book with its subscriptions (and invoices) removed: churn is inactivity.

The default `churn_definition = "auto"` judges every account by inactivity, since none has a
subscription row; snapshots hold the accounts active in the last 30 days, labels come from
the events alone, and the model still ranks churners well out of time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.churn.flows import training_data
from tenure.churn.training import train_models
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate

from .conftest import END


def unbilled_book(root: Path, accounts: int, months: int, seed: int) -> Path:
    """Simulate a book, drop its subscriptions and invoices, import it; return the data dir."""
    simulate(SimulationConfig(accounts=accounts, months=months, seed=seed, end=END), root / "sim")
    for kind in ("subscriptions", "invoices"):
        (root / "sim" / f"{kind}.csv").unlink()
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    assert result.exit_code in (0, 3), result.output
    return data


@pytest.mark.slow
def test_a_book_without_subscriptions_trains_a_model_with_skill(tmp_path: Path) -> None:
    """1,500 accounts × 10 months, no billing: out-of-time AUC well above chance."""
    settings = Settings(data_dir=unbilled_book(tmp_path, 1500, 10, 5))
    data = training_data(settings, get_engine(settings), horizon=30)
    frame = data.frame
    assert data.window["churn_definition"] == "auto" and data.window["inactivity_days"] == 30
    assert frame["mrr"].isna().all(), "no account has subscription features"
    assert frame.groupby("as_of").size().min() > 500
    rate = frame["churned"].mean()
    assert 0.02 < rate < 0.5, rate
    result = train_models(frame, data.split, seed=0)
    print("inactivity book: validation AUC", result.metrics["auc"], "churn rate", rate)
    assert result.metrics["auc"] > 0.70, result.metrics
    assert result.skill is not None and result.skill.skill
