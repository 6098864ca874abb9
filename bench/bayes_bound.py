"""How much of the Bayes-optimal AUC the observable data allow on simulated books.

Prints one JSON object. The simulator's truth knows each account's hidden engagement state; the
Bayes-optimal AUC is that of its exact churn probabilities. This bench fits the served XGBoost
settings twice per rolling validation month (the months before the served validation day, the
same split as `tenure model train`, two seeds): on the product's features, and on the same
features plus the true state on each snapshot day (one-hot), which no deployment can observe.
The second ratio bounds what better features of the observable data could add: the gap between
the two is what the data do not reveal about the state.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from served_model import SEEDS, book_arguments, ratio_summary, rolling_book, validation_ratio
from tenure.churn.estimators import SERVED_XGBOOST_PARAMS
from tenure.simulate.chain import STATES


def with_states(frame: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """Return the snapshots with one 0/1 column per hidden state on each row's as-of day."""
    keys = hidden.assign(as_of=pd.to_datetime(hidden["as_of"]).dt.date)
    rows = frame.assign(_day=pd.to_datetime(frame["as_of"]).dt.date)
    merged = rows.merge(
        keys.rename(columns={"as_of": "_day"}), on=["external_id", "_day"], how="left"
    )
    flags = {f"true_state_{s}": (merged["state"] == s).astype(float) for s in STATES}
    return merged.drop(columns=["state", "_day"]).assign(**flags)


def main() -> None:
    """Run both fits per month and seed; print the mean ratios to the Bayes-optimal AUC."""
    args = book_arguments()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-bayes-") as tmp:
        book = rolling_book(
            Path(tmp), args.accounts, args.months, args.months_back, args.horizon, states=True
        )
    observed = book.frame
    book.frame = with_states(observed, book.hidden_states)
    coverage = float(book.frame[[f"true_state_{s}" for s in STATES]].sum(axis=1).mean())
    ratios: dict[str, list[float]] = {"product_features": [], "plus_true_state": []}
    for day in book.days:
        everything = book.frames(day)
        product = {name: part[observed.columns] for name, part in everything.items()}
        for seed in SEEDS:
            truth = book.truths[day]
            ratios["product_features"].append(
                validation_ratio(product, truth, SERVED_XGBOOST_PARAMS, seed)
            )
            ratios["plus_true_state"].append(
                validation_ratio(everything, truth, SERVED_XGBOOST_PARAMS, seed)
            )
    summary = ratio_summary(args, book, ratios, start)
    print(json.dumps({**summary, "state_coverage": round(coverage, 4)}))


if __name__ == "__main__":
    main()
