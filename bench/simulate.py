"""Benchmark `tenure simulate`: wall time, throughput and peak memory, printed as JSON.

Usage: .venv/bin/python bench/simulate.py --accounts 20000 --months 12 [--out DIR] [--auc]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from tenure.simulate import SimulationConfig, simulate
from tenure.simulate.evaluate import bayes_optimal_auc


def parse_args() -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--out", type=Path, default=None, help="keep the output here")
    parser.add_argument("--auc", action="store_true", help="also report the Bayes-optimal AUC")
    return parser.parse_args()


def main() -> None:
    """Run one simulation and print its numbers."""
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tenure-bench-"))
    out = args.out or scratch / "out"
    config = SimulationConfig(
        accounts=args.accounts, months=args.months, seed=args.seed, end=args.end
    )
    started = time.perf_counter()
    result = simulate(config, out)
    seconds = time.perf_counter() - started
    report = {
        "accounts": args.accounts,
        "months": args.months,
        "events": result.events,
        "truth_rows": result.files["truth.parquet"],
        "seconds": round(seconds, 2),
        "events_per_second": round(result.events / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "output_mb": round(sum(p.stat().st_size for p in out.iterdir()) / 2**20, 1),
    }
    if args.auc:
        report["bayes_auc"] = {h: bayes_optimal_auc(out, h) for h in (30, 90)}
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
