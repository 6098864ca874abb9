"""Benchmark the metrics stage against an independent pandas implementation, as JSON.

Usage: .venv/bin/python bench/metrics.py --accounts 100000 --rows-per-account 10 [--runs 5]

Synthetic subscriptions (generated directly with numpy): per account a chain of priced periods
with random lengths, price changes, gaps (churn, then reactivation), zero-MRR trials and three
currencies. Both paths compute a full year of monthly movements (plus the five lead months the
trailing-6-month LTV needs); the run fails loudly if their month totals differ.

Timings (seconds, best of --runs, the two paths interleaved so both see the same machine load):
- engine_seconds: `monthly_movements` (the engine path, movements only), warm: its Ibis
  expression is compiled once per process and cached; engine_cold_seconds is the first call,
  compile included;
- pandas_seconds: `pandas_bridge`, vectorised pandas/numpy that imports nothing from tenure
  (its own rates, minor units and month arithmetic), so it cross-checks the numbers;
- stage_seconds: the whole metrics stage, i.e. `movements_report` (movements + the month
  summaries) and `cohort_cells` (signup cohorts) for the year.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tenure.metrics.cohorts import cohort_cells
from tenure.metrics.months import parse_month
from tenure.metrics.movements import LTV_WINDOW, monthly_movements, movements_report

US_PER_DAY = 86_400_000_000
CURRENCIES = np.array(["USD", "EUR", "GBP"])


def parse_args() -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rows-per-account", type=int, default=10)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each path (best)")
    return parser.parse_args()


def synthetic_subscriptions(accounts: int, per_account: int, seed: int) -> pa.Table:
    """Return accounts × per_account subscription rows as an Arrow table."""
    rng = np.random.default_rng(seed)
    epoch = np.datetime64("2022-01-01T00:00:00", "us").astype(np.int64)
    first = epoch + rng.integers(0, 1300 * US_PER_DAY, accounts)
    length = rng.integers(5 * US_PER_DAY, 120 * US_PER_DAY, (accounts, per_account))
    gap = np.where(rng.random((accounts, per_account)) < 0.1, rng.integers(10, 90) * US_PER_DAY, 0)
    gap[:, 0] = 0
    started = first[:, None] + np.cumsum(
        gap + np.roll(length, 1, axis=1) * (np.arange(per_account) > 0), axis=1
    )
    ended = started + length
    open_last = rng.random(accounts) < 0.6
    base = rng.integers(1_000, 200_000, accounts)
    mrr = np.round(base[:, None] * rng.uniform(0.7, 1.4, (accounts, per_account))).astype(np.int64)
    mrr[rng.random(accounts) < 0.05, 0] = 0
    currency = CURRENCIES[rng.choice(3, accounts, p=[0.7, 0.2, 0.1])]
    ended_mask = np.zeros((accounts, per_account), dtype=bool)
    ended_mask[:, -1] = open_last
    return pa.table(
        {
            "account_id": np.repeat(np.arange(accounts, dtype=np.int64), per_account),
            "mrr": mrr.ravel(),
            "currency": np.repeat(currency, per_account),
            "started_at": pa.array(started.ravel(), pa.timestamp("us")),
            "ended_at": pa.array(ended.ravel(), pa.timestamp("us"), mask=ended_mask.ravel()),
        }
    )


# The pandas path's own conversion table: USD per major unit and minor-unit exponents (the
# defaults tenure ships with; if they ever differ, the cross-check fails loudly).
PANDAS_USD_RATES = {"USD": 1.0, "EUR": 1.0350, "GBP": 1.2470}
PANDAS_MINOR_EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2}


def pandas_factors(currencies: Any) -> dict[str, float]:
    """Return, per currency, one minor unit's worth in US cents (pandas path, no tenure code)."""
    return {
        c: PANDAS_USD_RATES[c] * 10.0 ** (2 - PANDAS_MINOR_EXPONENT[c]) for c in set(currencies)
    }


def pandas_month_start(index: int) -> pd.Timestamp:
    """Return the first instant of month index year * 12 + month − 1 (pandas path)."""
    return pd.Timestamp(year=index // 12, month=index % 12 + 1, day=1)


def pandas_bridge(subs: pd.DataFrame, months: list[int]) -> dict[int, dict[str, int]]:
    """Return month totals computed with pandas only (vectorised, one mask per snapshot)."""
    factors = pandas_factors(subs["currency"].unique())
    usd = np.floor(subs["mrr"].to_numpy() * subs["currency"].map(factors).to_numpy() + 0.5)
    subs = subs.assign(usd=usd.astype(np.int64))
    start, end = subs["started_at"], subs["ended_at"]
    grid = {}
    for m in [months[0] - 1, *months]:
        t = pandas_month_start(m + 1)
        live = subs[(start < t) & (end.isna() | (end >= t))]
        grid[m] = live.groupby("account_id")["usd"].sum()
    grid = pd.DataFrame(grid).fillna(0).astype(np.int64)
    paid = subs[subs["usd"] > 0]
    first_month = paid["started_at"].dt.year * 12 + paid["started_at"].dt.month - 1
    next_month = paid["started_at"].dt.to_period("M").dt.to_timestamp() + pd.DateOffset(months=1)
    covered = paid["ended_at"].isna() | (paid["ended_at"] >= next_month)
    first_paid = first_month[covered].groupby(paid["account_id"][covered]).min()
    first_paid = first_paid.reindex(grid.index)
    out = {}
    for m in months:
        s, e = grid[m - 1], grid[m]
        arrives = (s == 0) & (e > 0)
        before = first_paid < m
        new, back, lost = arrives & ~before, arrives & before, (s > 0) & (e == 0)
        out[m] = {
            "mrr_start": int(s.sum()), "mrr_end": int(e.sum()),
            "new": int(e[new].sum()), "reactivation": int(e[back].sum()),
            "expansion": int((e - s)[(s > 0) & (e > s)].sum()),
            "contraction": int((s - e)[(e > 0) & (e < s)].sum()),
            "churn": int(s[lost].sum()),
            "customers_start": int((s > 0).sum()), "customers_end": int((e > 0).sum()),
            "new_customers": int(new.sum()), "reactivated_customers": int(back.sum()),
            "churned_customers": int(lost.sum()),
        }  # fmt: skip
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Return (seconds, result) of one call."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> None:
    """Generate the data, time both paths interleaved, cross-check and print JSON."""
    args = parse_args()
    t0 = time.perf_counter()
    table = synthetic_subscriptions(args.accounts, args.rows_per_account, args.seed)
    generate_s = time.perf_counter() - t0
    first, last = parse_month(f"{args.year}-01"), parse_month(f"{args.year}-12")
    months = list(range(first - (LTV_WINDOW - 1), last + 1))
    frame = table.to_pandas()

    def stage() -> tuple[list[dict[str, Any]], list[Any]]:
        return movements_report(table, first, last), cohort_cells(table, first, last)

    engine_cold_s, series = timed(lambda: monthly_movements(table, months))
    stage()  # warm: compile the stage's other expressions once, like engine_cold above
    engine, pandas, whole = [], [], []
    for _ in range(max(args.runs, 1)):
        seconds, reference = timed(lambda: pandas_bridge(frame, months))
        pandas.append(seconds)
        seconds, series = timed(lambda: monthly_movements(table, months))
        engine.append(seconds)
        seconds, (report, cells) = timed(stage)
        whole.append(seconds)

    mismatches = [
        f"month {m.month}: engine {ours} != pandas {reference[m.month]}"
        for m in series
        if (ours := {k: getattr(m, k) for k in reference[m.month]}) != reference[m.month]
    ]
    if len(series) != len(months) or mismatches:
        print("\n".join(mismatches) or "month count differs", file=sys.stderr)
        raise SystemExit("bench/metrics.py: engine and pandas month totals differ")
    engine_s, pandas_s, stage_s = min(engine), min(pandas), min(whole)
    print(
        json.dumps(
            {
                "rows": table.num_rows,
                "accounts": args.accounts,
                "months": len(months),
                "months_reported": len(report),
                "cohort_cells": len(cells),
                "runs": len(engine),
                "engine_seconds": round(engine_s, 3),
                "engine_cold_seconds": round(engine_cold_s, 3),
                "pandas_seconds": round(pandas_s, 3),
                "ratio": round(pandas_s / engine_s, 2),
                "stage_seconds": round(stage_s, 3),
                "engine_runs": [round(x, 3) for x in engine],
                "pandas_runs": [round(x, 3) for x in pandas],
                "stage_runs": [round(x, 3) for x in whole],
                "generate_seconds": round(generate_s, 3),
                "equal": True,
                "reconciles": all(m.reconciles() for m in series),
                "december": report[-1],
                "at": datetime.now().isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
