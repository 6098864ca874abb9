"""Benchmark the reports: the CLV fit and the forecast with its backtest, as JSON.

Usage: .venv/bin/python bench/reports.py [--part clv|forecast|all] [--customers 100000]

clv: 100k customers' BTYD summaries drawn from the BG/NBD story with the CDNOW parameters
(r=0.243, α=4.414, a=0.793, b=2.426), first purchases spread over 39 weeks and times rounded to
whole days as a transactions file gives them. `tenure_seconds` is `tenure.reports.clv.bgnbd.fit`
(log-space likelihood, analytic gradient, grouped customers); `bare_seconds` is the same
likelihood written plainly here and maximised by one bare `scipy.optimize.minimize` call on
log-parameters (BFGS with finite-difference gradients). Best of --runs, interleaved.

forecast: `forecast_report` (12 months ahead, rolling-origin backtest over 18 origins with the
naive and seasonal-naive baselines, intervals calibrated on its misses: coverage before/after
judged out of time) on 36 months of a 100k-account book. The monthly aggregates
are generated directly (tests/reports/forecast_books.py: seasonal signups, Beta-Binomial logo
churn, noisy expansion/contraction), not by `tenure simulate` + import, which takes minutes at
that size: the forecast reads only the 36 monthly bridges, whose computation is the metrics
stage's cost (bench/metrics.py). One timed run (it is minutes-scale work, not micro).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import optimize, special

from tenure.reports.clv import bgnbd
from tenure.reports.clv.data import Summary
from tenure.reports.forecast.report import forecast_report

CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def parse_args() -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=("clv", "forecast", "all"), default="all")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def synthetic_summary(n: int, seed: int) -> Summary:
    """Return n customers' (x, t_x, T) in weeks, simulated from the CDNOW BG/NBD fit."""
    rng = np.random.default_rng(seed)
    big_t = rng.integers(190, 274, n) / 7.0  # first purchase within the first 12 weeks
    lam = rng.gamma(CDNOW["r"], 1 / CDNOW["alpha"], n)
    drop = rng.beta(CDNOW["a"], CDNOW["b"], n)
    arrivals = rng.poisson(lam * big_t)
    x = np.minimum(rng.geometric(drop), arrivals).astype(float)
    t_x = np.zeros(n)
    some = x > 0
    t_x[some] = big_t[some] * rng.beta(x[some], arrivals[some] - x[some] + 1)
    return Summary(x, np.minimum(np.round(t_x * 7) / 7, big_t), big_t)


def bare_fit(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    """Maximise the BG/NBD likelihood, written plainly, with one bare minimize call."""

    def minus_ll(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_params)
        first = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        second = special.betaln(a, b + x) - special.betaln(a, b)
        alive = -(r + x) * np.log(alpha + big_t)
        dropped = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
        return -np.sum(first + second + np.logaddexp(alive, dropped)) / len(x)

    return np.exp(optimize.minimize(minus_ll, np.zeros(4)).x)


def best_of(runs: int, calls: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Return each call's best wall time over RUNS, the calls interleaved."""
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def clv_part(args: argparse.Namespace) -> dict[str, object]:
    """Time the CLV fit against the bare minimize baseline; check they agree."""
    summary = synthetic_summary(args.customers, args.seed)
    fitted = bgnbd.fit(summary)
    bare = bare_fit(summary.frequency, summary.recency, summary.T)
    ours = np.array([fitted.r, fitted.alpha, fitted.a, fitted.b])
    times = best_of(
        args.runs,
        {
            "tenure": lambda: bgnbd.fit(summary),
            "bare": lambda: bare_fit(summary.frequency, summary.recency, summary.T),
        },
    )
    return {
        "customers": summary.customers,
        "distinct_rows": len(summary.grouped()[0]),
        "tenure_seconds": round(times["tenure"], 3),
        "bare_seconds": round(times["bare"], 3),
        "ratio": round(times["tenure"] / times["bare"], 3),
        "params": dict(zip(CDNOW, np.round(ours, 4).tolist(), strict=True)),
        "bare_params": dict(zip(CDNOW, np.round(bare, 4).tolist(), strict=True)),
        "max_rel_diff": float(np.max(np.abs(ours / bare - 1))),
    }


def forecast_part(args: argparse.Namespace) -> dict[str, object]:
    """Time the forecast with its backtest on a synthetic book's monthly aggregates."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.reports.forecast_books import synthetic_history

    history = synthetic_history(args.months, accounts=args.accounts, seed=args.seed)
    start = time.perf_counter()
    import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401  (import timed apart)

    imported = time.perf_counter() - start
    start = time.perf_counter()
    report = forecast_report(history, 12)
    seconds = time.perf_counter() - start
    summary = {}
    for name, rows in report["backtest"].items():
        if name in ("origins", "calibration"):
            continue
        summary[name] = {
            f"h{row['horizon']}": {
                "method": row["method"],
                **{m: row[m] for m in ("model", "naive", "seasonal_naive") if m in row},
            }
            for row in rows
            if row["horizon"] in (1, 3, 6, 12)
        }
    return {
        "accounts": args.accounts,
        "months": args.months,
        "origins": report["backtest"]["origins"],
        "seconds": round(seconds, 2),
        "statsmodels_import_seconds": round(imported, 2),
        "backtest": summary,
        "interval_coverage": coverage(report["backtest"]["calibration"]),
    }


def coverage(calibration: dict) -> dict[str, dict[str, object]]:
    """Return the model's 80 %/95 % coverage before/after calibration per series (out of time)."""
    keys = ("coverage80_before", "coverage80_after", "coverage95_before", "coverage95_after")
    out = {}
    for name, methods in calibration.items():
        model = methods.get("model", {})
        out[name] = {k: None if model.get(k) is None else round(model[k], 3) for k in keys}
        out[name]["judged"] = model.get("judged")
        out[name]["scale80_h1_h12"] = [
            round(model["scale80"][0], 2),
            round(model["scale80"][-1], 2),
        ]
    return out


def main() -> None:
    """Run the chosen parts and print one JSON object."""
    args = parse_args()
    out: dict[str, object] = {}
    if args.part in ("clv", "all"):
        out["clv"] = clv_part(args)
    if args.part in ("forecast", "all"):
        out["forecast"] = forecast_part(args)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
