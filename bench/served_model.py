"""Compare served XGBoost settings by rolling out-of-time validation on a simulated book.

Prints one JSON object. For each of the `--months-back` validation months before the served
validation day (never that day itself), every setting is fitted on the earlier snapshots (the
same split rule as `tenure model train`) and its validation AUC is divided by the Bayes-optimal
AUC that the simulator's truth gives for the same accounts. Two seeds per fit, one thread each
(OpenMP spin-waits on busy shared cores). Platt calibration is left out: it does not change a
ranking, so it cannot change an AUC.

With `--sizes 300,1000,3000,10000` it runs the book-size axis instead: per size, a book of that
many accounts × `--months` (simulator seed `--seed`) is trained exactly as `tenure model train`
trains it (capacity chosen per book, logistic vs XGBoost, skill check), and the JSON gives the
served model's out-of-time AUC and interval, the logistic baseline's, the Bayes-optimal AUC and
the ratio; as a diagnostic only, every grid setting's AUC on the same validation day.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from tenure.churn.estimators import SERVED_XGBOOST_GRID, SERVED_XGBOOST_PARAMS, xgboost_model
from tenure.churn.features import feature_columns
from tenure.churn.fitted_model import ChurnModel
from tenure.churn.flows import training_data
from tenure.churn.oracle import bayes_comparison, truth_for
from tenure.churn.snapshots import event_names, labelled_snapshots, open_sources, training_dates
from tenure.churn.training import evaluate, fit_candidate, split_frames, time_split, train_models
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate
from tenure.warehouse.catalog import SIM_TRUTH
from tenure.warehouse.connection import open_warehouse
from train import prepare

SETTINGS = {
    "800_trees_lr_0.03": {"n_estimators": 800, "learning_rate": 0.03},
    "400_trees_lr_0.06": {"n_estimators": 400, "learning_rate": 0.06},
    "300_trees_lr_0.08": {"n_estimators": 300, "learning_rate": 0.08},
}
SEEDS = (0, 1)


def validation_ratio(frames: dict, truth: Any, params: dict, seed: int) -> float:
    """Fit one setting on the fit rows and return its validation AUC over the Bayes AUC."""
    columns = [c for c in frames["fit"].columns if c != "churned"]
    numeric, categorical = feature_columns(columns)
    numeric = [c for c in numeric if frames["fit"][c].notna().any()]
    pipeline = xgboost_model(numeric, categorical, seed=seed, n_jobs=1, params=params)
    model = ChurnModel("xgboost", pipeline, numeric, categorical)
    fit, held = frames["fit"], frames["validate"]
    pipeline.fit(model.frame(fit), fit["churned"].to_numpy())
    probability = pipeline.predict_proba(model.frame(held))[:, 1]
    return bayes_comparison(truth, held, probability)["ratio"]


@dataclass
class RollingBook:
    """A simulated book's snapshots, its rolling validation days and their truths."""

    frame: pd.DataFrame
    as_ofs: list[date]
    days: list[date]
    served: date
    truths: dict[date, Any]
    horizon: int
    true_probabilities: pd.DataFrame | None = None

    def frames(self, day: date) -> dict:
        """Return fit/calibrate/validate frames validating on day, labels ending by then."""
        history = [d for d in self.as_ofs if d <= day]
        split = time_split(history, day + timedelta(days=self.horizon), self.horizon)
        return split_frames(self.frame, split)


def rolling_book(
    root: Path, accounts: int, months: int, months_back: int, horizon: int, truth: bool = False
) -> RollingBook:
    """Simulate and import a book; return snapshots before the served validation day.

    With truth, also the simulator's true churn probability of every snapshot row's label window
    (external_id, as_of, p_true), for every as-of day before the served validation day.
    """
    settings = prepare(root, accounts, months, "monthly")
    engine = get_engine(settings)
    with open_warehouse(settings) as warehouse:
        as_ofs, last = training_dates(warehouse.con, "monthly")
        served = time_split(as_ofs, last, horizon).validate
        complete = [d for d in as_ofs if d + timedelta(days=horizon) <= last]
        days = [d for d in complete if d < served][-months_back:]
        names = event_names(warehouse.con, served)
        sources = open_sources(warehouse, engine, settings)
        earlier = [d for d in as_ofs if d < served]
        frame = labelled_snapshots(warehouse, sources, earlier, names, horizon)
        truths = {day: truth_for(warehouse.con, day, horizon) for day in days}
        known = all_true_probabilities(warehouse.con, earlier, horizon) if truth else None
    return RollingBook(frame, as_ofs, days, served, truths, horizon, known)


def all_true_probabilities(con: Any, as_ofs: list[date], horizon: int) -> pd.DataFrame:
    """Return external_id, as_of, p_true for every as-of day (the truth row dated as_of + 1)."""
    return con.execute(
        f"SELECT account_id AS external_id, CAST(date - INTERVAL 1 DAY AS DATE) AS as_of, "
        f"p_churn_{horizon} AS p_true FROM {SIM_TRUTH} "
        "WHERE date IN (SELECT unnest(?))",
        [[d + timedelta(days=1) for d in as_ofs]],
    ).df()


def book_arguments() -> argparse.Namespace:
    """Parse the simulated book's size and the rolling validation window."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--months-back", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=90)
    parser.add_argument("--sizes", default="", help="book-size axis, e.g. 300,1000,3000")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed (size axis)")
    return parser.parse_args()


def ratio_summary(
    args: argparse.Namespace, book: RollingBook, ratios: dict[str, list[float]], start: float
) -> dict[str, Any]:
    """Return the JSON summary: validation days, seeds, mean and per-fit ratios, seconds."""
    return {
        "accounts": args.accounts, "validation_days": [d.isoformat() for d in book.days],
        "served_validation_day_left_out": book.served.isoformat(), "seeds": list(SEEDS),
        "mean_ratio_to_bayes": {k: round(float(np.mean(v)), 4) for k, v in ratios.items()},
        "ratios": {k: [round(x, 4) for x in v] for k, v in ratios.items()},
        "seconds": round(time.perf_counter() - start, 1),
    }  # fmt: skip


def import_book(root: Path, accounts: int, months: int, seed: int) -> Settings:
    """Simulate a book as `tenure simulate` does (ending today) and import it into root/data."""
    config = SimulationConfig(accounts=accounts, months=months, seed=seed, end=date.today())
    simulate(config, root / "sim")
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    if result.exit_code not in (0, 3):  # 3: imported with quarantined rows
        raise SystemExit(result.output)
    return Settings(data_dir=data)


def size_row(accounts: int, months: int, seed: int, horizon: int) -> dict[str, Any]:
    """Train on one simulated book as `tenure model train` does; return its served figures."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-size-") as tmp:
        settings = import_book(Path(tmp), accounts, months, seed)
        data = training_data(settings, get_engine(settings), horizon=horizon)
    trained = time.perf_counter()
    result = train_models(data.frame, data.split, seed=0)
    seconds = time.perf_counter() - trained
    held = result.frames["validate"]
    bayes = bayes_comparison(data.truth, held, result.validation_probability) or {}
    numeric, categorical = result.model.numeric, result.model.categorical
    per_setting = {
        name: round(
            evaluate(fit_candidate("xgboost", result.frames, numeric, categorical, 0, p), held)[0][
                "auc"
            ],
            4,
        )
        for name, p in SERVED_XGBOOST_GRID.items()
    }
    skill = result.skill
    return {
        "accounts": accounts, "validation_accounts": len(held),
        "validation_churners": int(held["churned"].sum()), "served": result.model.name,
        "served_auc": round(result.metrics["auc"], 4),
        "served_auc_ci": [round(skill.auc_ci_low, 4), round(skill.auc_ci_high, 4)],
        "skill": skill.skill, "baseline_auc": round(result.baseline_metrics["auc"], 4),
        "xgboost_auc": round(result.xgboost_metrics["auc"], 4),
        "bayes_optimal_auc": round(bayes.get("bayes_optimal_auc", float("nan")), 4),
        "ratio": round(bayes.get("ratio", float("nan")), 4),
        "capacity": result.capacity.setting, "inner_auc": result.capacity.inner_auc,
        "validation_auc_per_setting": per_setting, "train_seconds": round(seconds, 1),
        "book_seconds": round(trained - start, 1),
    }  # fmt: skip


def size_axis(args: argparse.Namespace) -> dict[str, Any]:
    """Return the book-size axis: one row per size."""
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = [size_row(n, args.months, args.seed, args.horizon) for n in sizes]
    return {"months": args.months, "simulator_seed": args.seed, "sizes": rows}


def main() -> None:
    """Run the comparison and print one JSON object."""
    args = book_arguments()
    if args.sizes:
        print(json.dumps(size_axis(args)))
        return
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-served-") as tmp:
        book = rolling_book(Path(tmp), args.accounts, args.months, args.months_back, args.horizon)
    ratios: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for day in book.days:
        frames = book.frames(day)
        for name, change in SETTINGS.items():
            params = {**SERVED_XGBOOST_PARAMS, **change}
            ratios[name] += [validation_ratio(frames, book.truths[day], params, s) for s in SEEDS]
    print(json.dumps(ratio_summary(args, book, ratios, start)))


if __name__ == "__main__":
    main()
