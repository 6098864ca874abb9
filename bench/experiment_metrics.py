"""Benchmark experiment metrics in the warehouse, and report the simulated truth beside the estimate.

Simulates a book with two arms (a: hazards × 0.6 and events × 1.2; b: events × 0.8), imports
it, then times `warehouse_summaries` for every packaged metric in ONE aggregate query against
the same-run baseline of one query per metric (the ratio is what the single query saves), and
prints churn_90d per arm: true lift (mean exact probabilities), estimate and 95 % interval.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.experiments.definitions import load_definitions
from tenure.experiments.simulated import exposures_frame, read_book_truth, simulated_report
from tenure.experiments.summaries import warehouse_summaries
from tenure.simulate import SimulationConfig, simulate
from tenure.simulate.config import parse_arm

END = date(2025, 7, 1)
AS_OF = date(2025, 6, 30)


def build(root: Path, accounts: int, months: int, seed: int) -> tuple[Path, Settings, float]:
    """Simulate and import a book; return its folder, settings and the seconds it took."""
    start = time.perf_counter()
    arms = (parse_arm("a:0.4:0.4:0.2"), parse_arm("b:0.2:0:-0.2"))
    config = SimulationConfig(accounts, months, seed, END, treatment_arms=arms)
    simulate(config, root / "sim")
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    if result.exit_code != 0:
        sys.exit(result.output)
    return root / "sim", Settings(data_dir=data), time.perf_counter() - start


def timed(function, repeat: int) -> float:
    """Return the median seconds of repeat calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim, settings, build_s = build(Path(tmp), args.accounts, args.months, args.seed)
        engine = get_engine(settings)
        exposures = exposures_frame(engine, read_book_truth(sim)[0])
        definitions = load_definitions()
        one = timed(
            lambda: warehouse_summaries(settings, engine, exposures, definitions, AS_OF),
            args.repeat,
        )
        each = timed(
            lambda: [
                warehouse_summaries(settings, engine, exposures, [d], AS_OF) for d in definitions
            ],
            args.repeat,
        )
        report = simulated_report(sim, settings, engine, metrics=["churn_90d", "events_30d"])
        engine.dispose()
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "months": args.months,
                "exposed_units": len(exposures),
                "metrics": len(definitions),
                "simulate_and_import_s": round(build_s, 1),
                "one_query_s": round(one, 3),
                "baseline_query_per_metric_s": round(each, 3),
                "ratio": round(one / each, 3),
                "churn_90d": [
                    {
                        "arm": r.arm,
                        "units": r.units,
                        "observed": round(r.observed_rate, 4),
                        "true_rate": round(r.true_rate, 4),
                        "true_lift": None if r.true_lift is None else round(r.true_lift, 4),
                        "lift": None if r.lift is None else round(r.lift, 4),
                        "ci": None
                        if r.ci_low is None
                        else [round(r.ci_low, 4), round(r.ci_high, 4)],
                        "covered": r.covered,
                    }
                    for r in report.churn
                ],
                "events_30d": [
                    {"arm": v.variant, "lift": v.lift, "ci": [v.lift_ci_low, v.lift_ci_high]}
                    for m in report.result.metrics
                    if m.metric == "events_30d"
                    for v in m.variants
                ],
                "srm_p_value": report.result.srm_p_value,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
