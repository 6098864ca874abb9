"""Benchmark the MRR-movements stage against an independent pandas implementation, as JSON.

Usage: .venv/bin/python bench/metrics.py --accounts 100000 --rows-per-account 10

Synthetic subscriptions (generated directly with numpy): per account a chain of priced periods
with random lengths, price changes, gaps (churn, then reactivation), zero-MRR trials and three
currencies. Both paths compute a full year of monthly movements (plus the five lead months the
trailing-6-month LTV needs); the run fails loudly if their month totals differ.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from tenure.metrics.currency import minor_unit_factors
from tenure.metrics.months import parse_month
from tenure.metrics.movements import LTV_WINDOW, monthly_movements, movements_report
from tenure.warehouse.stages.metrics import month_start

US_PER_DAY = 86_400_000_000
CURRENCIES = np.array(["USD", "EUR", "GBP"])


def parse_args() -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rows-per-account", type=int, default=10)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--seed", type=int, default=1)
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


def pandas_bridge(subs: pd.DataFrame, months: list[int]) -> dict[int, dict[str, int]]:
    """Return month totals computed with pandas only (vectorised, one mask per snapshot)."""
    factors = minor_unit_factors(subs["currency"].unique(), "USD")
    usd = np.floor(subs["mrr"].to_numpy() * subs["currency"].map(factors).to_numpy() + 0.5)
    subs = subs.assign(usd=usd.astype(np.int64))
    start, end = subs["started_at"], subs["ended_at"]
    grid = {}
    for m in [months[0] - 1, *months]:
        t = pd.Timestamp(month_start(m + 1))
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
        out[m] = {
            "mrr_start": int(s.sum()), "mrr_end": int(e.sum()),
            "new": int(e[arrives & ~before].sum()), "reactivation": int(e[arrives & before].sum()),
            "expansion": int((e - s)[(s > 0) & (e > s)].sum()),
            "contraction": int((s - e)[(e > 0) & (e < s)].sum()),
            "churn": int(s[(s > 0) & (e == 0)].sum()),
            "customers_start": int((s > 0).sum()), "customers_end": int((e > 0).sum()),
        }  # fmt: skip
    return out


def main() -> None:
    """Generate the data, time both paths, cross-check and print JSON."""
    args = parse_args()
    t0 = time.perf_counter()
    table = synthetic_subscriptions(args.accounts, args.rows_per_account, args.seed)
    generate_s = time.perf_counter() - t0
    first, last = parse_month(f"{args.year}-01"), parse_month(f"{args.year}-12")
    months = list(range(first - (LTV_WINDOW - 1), last + 1))

    t0 = time.perf_counter()
    report = movements_report(table, first, last)
    engine_s = time.perf_counter() - t0
    series = monthly_movements(table, months)

    frame = table.to_pandas()
    t0 = time.perf_counter()
    reference = pandas_bridge(frame, months)
    pandas_s = time.perf_counter() - t0

    for month in series:
        ours = {k: getattr(month, k) for k in reference[month.month]}
        if ours != reference[month.month]:
            raise SystemExit(f"mismatch in month {month.month}: {ours} != {reference[month.month]}")
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "subscription_rows": table.num_rows,
                "months_reported": len(report),
                "months_computed": len(months),
                "generate_s": round(generate_s, 3),
                "engine_s": round(engine_s, 3),
                "pandas_s": round(pandas_s, 3),
                "speedup": round(pandas_s / engine_s, 2),
                "cross_check": "equal",
                "reconciles": all(m.reconciles() for m in series),
                "december": report[-1],
                "at": datetime.now().isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
