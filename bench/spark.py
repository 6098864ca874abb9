"""Benchmark the churn feature stage on Spark local[N] against DuckDB on the same book.

Prints one JSON object: the `features` stage's wall time on the embedded DuckDB warehouse
(the baseline) and on Spark (cold: JVM and session start included; warm: the same stage again
in the same process), the ratios to DuckDB, and whether the two tables are equal.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from tenure.churn.stages import account_features
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate
from tenure.stage import StageContext
from tenure.warehouse.catalog import feature_table_name
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.spark import export_events

END = date(2025, 7, 1)
AS_OF = END - timedelta(days=1)


def _book(root: Path, accounts: int, months: int) -> Path:
    simulate(SimulationConfig(accounts=accounts, months=months, seed=3, end=END), root / "sim")
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    assert result.exit_code == 0, result.output
    return data


def _stage(settings: Settings) -> tuple[float, pd.DataFrame]:
    engine = get_engine(settings)
    start = time.perf_counter()
    account_features(StageContext(settings=settings, engine=engine, as_of=AS_OF))
    seconds = time.perf_counter() - start
    engine.dispose()
    with open_warehouse(settings, read_only=True) as warehouse:
        frame = warehouse.con.execute(f"SELECT * FROM {feature_table_name(AS_OF)}").df()
    return seconds, frame


def main() -> None:
    """Build a book, time the stage on both engines, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = _book(root, args.accounts, args.months)
        spark_data = root / "spark"
        shutil.copytree(data, spark_data)
        duck_s, expected = _stage(Settings(data_dir=data))
        with open_warehouse(Settings(data_dir=data), read_only=True) as warehouse:
            events = export_events(warehouse.con, root / "events")
        url = f"spark://{args.master}?events={root / 'events'}"
        settings = Settings(data_dir=spark_data, warehouse_url=url)
        cold_s, actual = _stage(settings)
        warm_s, _ = _stage(settings)
    try:
        pd.testing.assert_frame_equal(
            actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
        )
        equal = True
    except AssertionError:
        equal = False
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "months": args.months,
                "events": events,
                "feature_rows": len(expected),
                "duckdb_s": round(duck_s, 2),
                "spark_cold_s": round(cold_s, 2),
                "spark_warm_s": round(warm_s, 2),
                "spark_warm_vs_duckdb": round(warm_s / duck_s, 1),
                "spark_cold_vs_duckdb": round(cold_s / duck_s, 1),
                "master": args.master,
                "equal": bool(equal),
            }
        )
    )


if __name__ == "__main__":
    main()
