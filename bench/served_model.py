"""Compare served XGBoost settings by rolling out-of-time validation on a simulated book.

Prints one JSON object. For each of the `--months-back` validation months before the served
validation day (never that day itself), every setting is fitted on the earlier snapshots (the
same split rule as `tenure model train`) and its validation AUC is divided by the Bayes-optimal
AUC that the simulator's truth gives for the same accounts. Two seeds per fit, one thread each
(OpenMP spin-waits on busy shared cores). Platt calibration is left out: it does not change a
ranking, so it cannot change an AUC.
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

from tenure.churn.estimators import SERVED_XGBOOST_PARAMS, xgboost_model
from tenure.churn.features import feature_columns
from tenure.churn.model import ChurnModel
from tenure.churn.oracle import bayes_comparison, truth_for
from tenure.churn.snapshots import event_names, labelled_snapshots, open_sources, training_dates
from tenure.churn.training import split_frames, time_split
from tenure.db.session import get_engine
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
    hidden_states: pd.DataFrame | None = None

    def frames(self, day: date) -> dict:
        """Return fit/calibrate/validate frames validating on day, labels ending by then."""
        history = [d for d in self.as_ofs if d <= day]
        split = time_split(history, day + timedelta(days=self.horizon), self.horizon)
        return split_frames(self.frame, split)


def rolling_book(
    root: Path, accounts: int, months: int, months_back: int, horizon: int, states: bool = False
) -> RollingBook:
    """Simulate and import a book; return snapshots before the served validation day.

    With states, also the simulator's hidden state per (account, day) from its truth table.
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
        hidden = (
            warehouse.con.execute(
                f"SELECT account_id AS external_id, date AS as_of, state FROM {SIM_TRUTH} "
                "WHERE date IN (SELECT unnest(?))",
                [earlier],
            ).df()
            if states
            else None
        )
    return RollingBook(frame, as_ofs, days, served, truths, horizon, hidden)


def book_arguments() -> argparse.Namespace:
    """Parse the simulated book's size and the rolling validation window."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--months-back", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=90)
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


def main() -> None:
    """Run the comparison and print one JSON object."""
    args = book_arguments()
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
