"""Benchmark the warehouse stages on Spark local[N] against DuckDB on the same book.

Prints one JSON object: the `features` stage's wall time on the embedded DuckDB warehouse
(the baseline) and on Spark (cold: JVM and session start included; warm: the same stage again
in the same process); then, on the warm session, the warehouse part of each other ported stage
(health inputs, metrics: MRR bridge + cohorts + activity, experiment metrics) on both engines;
the ratios to DuckDB, and whether each pair of results is equal. Also the Parquet export:
the first full `export-events` and a re-run with nothing new (days compared, none written).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import date, datetime, timedelta
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
from tenure.warehouse.parquet_events import export_event_days

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


def _export(settings: Settings, out: Path) -> dict:
    """Time the first full Parquet export and a re-run with nothing new."""
    with open_warehouse(settings, read_only=True) as warehouse:
        start = time.perf_counter()
        first = export_event_days(warehouse.con, out)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = export_event_days(warehouse.con, out)
        again_s = time.perf_counter() - start
    return {
        "events": first.rows,
        "days": len(first.written),
        "full_s": round(first_s, 2),
        "rerun_s": round(again_s, 2),
        "rerun_days_written": len(again.written),
    }


def _timed(run, *args) -> tuple[float, object]:
    start = time.perf_counter()
    found = run(*args)
    return time.perf_counter() - start, found


def _pair(name: str, run, duck: Settings, spark: Settings) -> dict:
    """Time run(settings) on DuckDB and on Spark and say whether the results are equal."""
    duck_s, expected = _timed(run, duck)
    spark_s, actual = _timed(run, spark)
    if isinstance(expected, tuple) and isinstance(expected[0], pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(actual[0], expected[0], check_dtype=False)
            equal = actual[1:] == expected[1:]
        except AssertionError:
            equal = False
    else:
        equal = actual == expected
    ratio = round(spark_s / duck_s, 1)
    return {"stage": name, "duckdb_s": round(duck_s, 2), "spark_warm_s": round(spark_s, 2),
            "spark_vs_duckdb": ratio, "equal": bool(equal)}  # fmt: skip


def health_run(settings: Settings) -> tuple:
    """Return the health stage's warehouse inputs (usage, flags, active ids: auto definition)."""
    from tenure.churn.definition import churn_definition
    from tenure.health.daily import warehouse_inputs

    auto = settings.model_copy(update={"churn_definition": "auto"})
    return warehouse_inputs(auto, AS_OF, churn_definition(auto))


def metrics_run(engine, as_of: date):
    """Return a run of the metrics stage's figures: 6 months' bridge, cohorts, activity."""
    from tenure.metrics.activity import activity_report
    from tenure.metrics.months import month_of
    from tenure.metrics.serving import cohort_report, known_at, metrics_backend, month_reports
    from tenure.warehouse.stages.subscriptions import app_db_subscriptions

    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    subscriptions = known_at(app_db_subscriptions(engine), end)
    last = month_of(end.date()) - 1

    def run(settings: Settings) -> tuple:
        backend = metrics_backend(settings)
        months = month_reports(engine, settings, subscriptions, last - 5, last, backend)
        cohorts = cohort_report(settings, subscriptions, last, backend)
        inactive = settings.model_copy(update={"churn_definition": "inactivity"})
        activity = activity_report(
            inactive, subscriptions, end=end, last=last, months=6, cohort_months=6
        )
        return months, cohorts, activity

    return run


def experiment_run(engine, as_of: date):
    """Return a run of every built-in experiment metric over half the accounts exposed."""
    import numpy as np
    from sqlalchemy import select

    from tenure.accounts.models import Account
    from tenure.experiments.definitions import load_definitions
    from tenure.experiments.warehouse import warehouse_summaries

    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(select(Account.id).order_by(Account.id))]
    rng = np.random.default_rng(3)
    start = datetime.combine(as_of - timedelta(days=120), datetime.min.time())
    exposures = pd.DataFrame(
        {
            "unit_id": ids,
            "variant": rng.choice(["control", "treatment"], len(ids)),
            "first_exposed_at": [
                start + timedelta(seconds=int(s)) for s in rng.integers(0, 90 * 86_400, len(ids))
            ],
        }
    )
    definitions = load_definitions()

    def run(settings: Settings) -> dict:
        return warehouse_summaries(settings, engine, exposures, definitions, as_of)

    return run


def _other_stages(duck: Settings, spark: Settings) -> list[dict]:
    """Time the health inputs, metrics and experiment metrics on both engines."""
    engine = get_engine(duck)
    out = [
        _pair("health inputs", health_run, duck, spark),
        _pair("metrics", metrics_run(engine, AS_OF), duck, spark),
        _pair("experiment metrics", experiment_run(engine, AS_OF), duck, spark),
    ]
    engine.dispose()
    return out


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
        export = _export(Settings(data_dir=data), root / "events")
        url = f"spark://{args.master}?events={root / 'events'}"
        settings = Settings(data_dir=spark_data, warehouse_url=url)
        cold_s, actual = _stage(settings)
        warm_s, _ = _stage(settings)
        stages = _other_stages(Settings(data_dir=data), settings)
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
                "events": export["events"],
                "feature_rows": len(expected),
                "duckdb_s": round(duck_s, 2),
                "spark_cold_s": round(cold_s, 2),
                "spark_warm_s": round(warm_s, 2),
                "spark_warm_vs_duckdb": round(warm_s / duck_s, 1),
                "spark_cold_vs_duckdb": round(cold_s / duck_s, 1),
                "master": args.master,
                "equal": bool(equal),
                "export": export,
                "stages": stages,
            }
        )
    )


if __name__ == "__main__":
    main()
