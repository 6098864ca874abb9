"""Benchmark `tenure experiments analyze` against a bare DuckDB read_csv + GROUP BY, as JSON.

Usage: nice -n 10 .venv/bin/python bench/experiments.py [--rows 10000000] [--runs 2]
       [--csv /tmp/tenure-bench-experiments-10000000.csv]

The CSV (3 variants, 5 metrics: a 0/1, a true/false, two counts and a revenue) is written once
with DuckDB COPY and reused. Both paths run as fresh processes, interleaved, best of --runs:
- analyze: the whole command, `tenure experiments analyze --csv … --metric ×5 --json`
  (start-up, sniffing, the one read_csv + GROUP BY, kinds, the statistics, the JSON);
- baseline: a Python process that imports duckdb and runs read_csv + GROUP BY computing the
  same sufficient statistics (units, and per metric count, Σx, Σx²), nothing else.
Peak memory is each process's max RSS (os.wait4). The run fails if the two disagree on n or Σx.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METRICS = ("converted", "renewed", "sessions", "tickets", "revenue")

GENERATE = """
COPY (
  SELECT CASE i % 3 WHEN 0 THEN 'control' WHEN 1 THEN 'annual_nudge' ELSE 'csm_call' END AS variant,
         (random() < 0.10 + 0.005 * (i % 3))::INTEGER AS converted,
         random() < 0.7 AS renewed,
         (random() * 20)::INTEGER AS sessions,
         (random() * random() * 4)::INTEGER AS tickets,
         round(random() * 120 + (i % 3), 2) AS revenue
  FROM range(?) t(i)
) TO '{path}' (HEADER)
"""

BASELINE = """
import json, sys, duckdb
metrics = sys.argv[2:]
cols = ", ".join(
    f"count({m}), sum(CAST({m} AS DOUBLE)), sum(CAST({m} AS DOUBLE) * CAST({m} AS DOUBLE))"
    for m in metrics
)
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.read_csv(sys.argv[1]).create_view("units")  # a bound parameter would import pandas
rows = con.execute(f"SELECT variant, count(*), {cols} FROM units GROUP BY ALL ORDER BY variant")
print(json.dumps(rows.fetchall()))
"""

ANALYZE = "from tenure.cli.main import main; main()"


def parse_args() -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=2, help="timed runs of each path (best)")
    parser.add_argument("--csv", type=Path, default=None)
    return parser.parse_args()


def ensure_csv(path: Path, rows: int) -> float:
    """Write the benchmark CSV unless it exists; return the seconds spent (0 when reused)."""
    if path.exists():
        return 0.0
    import duckdb

    started = time.perf_counter()
    partial = path.with_suffix(".partial.csv")
    duckdb.connect().execute(GENERATE.format(path=str(partial).replace("'", "''")), [rows])
    partial.rename(path)
    return time.perf_counter() - started


def timed(argv: list[str]) -> tuple[float, float, str]:
    """Run a process; return (wall seconds, peak RSS in MB, stdout)."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True)
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # reaped here, so its own rusage
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{argv[:3]} failed: {errors.read()}")
    return seconds, usage.ru_maxrss / 1024, stdout


def check_agreement(analyzed: dict, baseline: list) -> None:
    """Fail unless both paths found the same units and means per variant and metric."""
    by_variant = {row[0]: row for row in baseline}
    for index, metric in enumerate(analyzed["metrics"]):
        for row in metric["variants"]:
            base = by_variant[row["variant"]]
            n, total = base[2 + 3 * index], base[3 + 3 * index]
            if row["n"] != n or abs(row["mean"] - total / n) > 1e-9 * max(1.0, abs(row["mean"])):
                raise SystemExit(f"disagree on {metric['metric']} / {row['variant']}")
    if analyzed["units"] != sum(row[1] for row in baseline):
        raise SystemExit("disagree on units")


def main() -> None:
    """Generate the CSV once, time both paths interleaved, print JSON."""
    args = parse_args()
    path = args.csv or Path(tempfile.gettempdir()) / f"tenure-bench-experiments-{args.rows}.csv"
    generate_seconds = ensure_csv(path, args.rows)
    metric_args = [part for m in METRICS for part in ("--metric", m)]
    analyze = [sys.executable, "-c", ANALYZE, "experiments", "analyze", "--csv", str(path),
               "--variant", "variant", *metric_args, "--json"]  # fmt: skip
    baseline = [sys.executable, "-c", BASELINE, str(path), *METRICS]
    runs: dict[str, list[tuple[float, float, str]]] = {"analyze": [], "baseline": []}
    for _ in range(args.runs):
        runs["baseline"].append(timed(baseline))
        runs["analyze"].append(timed(analyze))
    check_agreement(json.loads(runs["analyze"][0][2]), json.loads(runs["baseline"][0][2]))
    best = {name: min(r[0] for r in results) for name, results in runs.items()}
    peak = {name: max(r[1] for r in results) for name, results in runs.items()}
    report = {
        "rows": args.rows,
        "variants": 3,
        "metrics": len(METRICS),
        "csv_mb": round(path.stat().st_size / 1e6, 1),
        "generate_seconds": round(generate_seconds, 2),
        "analyze_seconds": round(best["analyze"], 3),
        "baseline_seconds": round(best["baseline"], 3),
        "ratio": round(best["analyze"] / best["baseline"], 3),
        "analyze_peak_rss_mb": round(peak["analyze"], 1),
        "baseline_peak_rss_mb": round(peak["baseline"], 1),
        "runs": args.runs,
        "target": "ratio <= 1.5, peak RSS <= 2048 MB",
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
