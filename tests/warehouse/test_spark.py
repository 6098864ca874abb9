"""The warehouse stages on Spark local[2] give the same tables as on DuckDB.

One small simulated book (120 accounts × 4 months), its events exported by
`tenure warehouse export-events` as Parquet partitioned by day, one Spark session for the
module. Each test runs one ported stage (or the stage's warehouse part) on the embedded
DuckDB warehouse and with TENURE_WAREHOUSE_URL=spark://local[2]?events=…, and asserts the two
results are equal value for value: the churn features and labels, the metrics (MRR bridge,
cohorts, activity), the health inputs and the experiment metrics.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate
from tenure.stage import StageContext
from tenure.warehouse.catalog import feature_table_name
from tenure.warehouse.connection import open_warehouse

from ..pg_switch import copy_data_dir

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = date(2025, 4, 30)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a data dir holding a small imported simulated book."""
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install '.[spark]')")
    if shutil.which("java") is None:
        pytest.skip("a Java runtime for PySpark is not installed (openjdk-17-jre-headless)")
    root = tmp_path_factory.mktemp("spark_book")
    simulate(SimulationConfig(accounts=120, months=4, seed=17, end=date(2025, 5, 1)), root / "sim")
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    assert result.exit_code == 0, result.output
    return data


@pytest.fixture(scope="module")
def parquet(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the book's events exported as Parquet partitioned by day (the CLI command)."""
    out = tmp_path_factory.mktemp("spark_events") / "events"
    result = CliRunner().invoke(
        app, ["--data-dir", str(book), "warehouse", "export-events", "--to", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert any(p.name.startswith("day=2025-04-") for p in out.iterdir())
    return out


@pytest.fixture(scope="module")
def engines(book: Path, parquet: Path) -> tuple[Settings, Settings]:
    """Return the book's settings on DuckDB and on Spark local[2] (same data dir)."""
    duck = Settings(data_dir=book)
    return duck, duck.model_copy(update={"warehouse_url": f"spark://local[2]?events={parquet}"})


def _features(settings: Settings) -> tuple[dict, pd.DataFrame]:
    """Run the features stage and return its summary and the written table."""
    from tenure.churn.stages import account_features

    engine = get_engine(settings)
    try:
        summary = account_features(StageContext(settings=settings, engine=engine, as_of=AS_OF))
    finally:
        engine.dispose()
    with open_warehouse(settings, read_only=True) as warehouse:
        frame = warehouse.con.execute(f"SELECT * FROM {feature_table_name(AS_OF)}").df()
    return summary, frame


def test_features_on_spark_equal_duckdb(book: Path, parquet: Path, tmp_path: Path) -> None:
    duck_dir, spark_dir = tmp_path / "duck", tmp_path / "spark"
    copy_data_dir(book, duck_dir)
    copy_data_dir(book, spark_dir)
    _, expected = _features(Settings(data_dir=duck_dir))

    url = f"spark://local[2]?events={parquet}"
    summary, actual = _features(Settings(data_dir=spark_dir, warehouse_url=url))

    assert summary["engine"] == "spark"
    assert len(expected) > 50
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(
        actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    # the comparison could fail: these columns vary across accounts
    for column in ("active_days_30d", "tenure_days", "events_30d", "mrr"):
        assert expected[column].nunique() > 3, column


def test_labels_on_spark_equal_duckdb(engines: tuple[Settings, Settings]) -> None:
    """The 30-day churn labels of two as-of days, every account, are equal on both engines."""
    from tenure.churn.inactivity import definition_labels
    from tenure.churn.snapshots import open_sources
    from tenure.churn.spark import open_spark_sources
    from tenure.warehouse.spark import parse_url

    duck, spark = engines
    engine = get_engine(duck)
    as_ofs = [date(2025, 2, 28), date(2025, 3, 31)]

    def labels(sources) -> pd.DataFrame:
        accounts = sources.tables["accounts"].select("account_id")
        grid = ibis.memtable({"as_of": as_ofs}, schema={"as_of": "date"})
        keys = accounts.cross_join(grid)
        t = sources.tables
        expr = definition_labels(keys, t["subscriptions"], t["events"], 30, sources.definition)
        frame = sources.backend.execute(expr)
        frame["as_of"] = pd.to_datetime(frame["as_of"])
        return frame.sort_values(["as_of", "account_id"]).reset_index(drop=True)

    with open_warehouse(duck, read_only=True) as warehouse:
        expected = labels(open_sources(warehouse, engine, duck))
    actual = labels(open_spark_sources(parse_url(spark.warehouse_url or ""), engine, duck))
    engine.dispose()

    assert len(expected) > 200  # every account on both days
    assert 0 < expected["churned"].sum() < len(expected)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


def test_health_inputs_on_spark_equal_duckdb(engines: tuple[Settings, Settings]) -> None:
    """Usage, last logins, the real-time base, population flags and active accounts."""
    from tenure.churn.definition import churn_definition
    from tenure.health.daily import warehouse_inputs

    duck, spark = (s.model_copy(update={"churn_definition": "auto"}) for s in engines)
    definition = churn_definition(duck)
    usage, flags, active = warehouse_inputs(duck, AS_OF, definition)
    s_usage, s_flags, s_active = warehouse_inputs(spark, AS_OF, definition)

    assert len(usage) > 50 and usage["events_30d"].nunique() > 3
    assert usage["last_login_at"].notna().sum() > 20
    assert (usage["base_users"].dropna() != "[]").sum() > 20
    pd.testing.assert_frame_equal(s_usage, usage, check_dtype=False)
    assert s_flags == flags == {"login_recency": True, "seat_utilisation": True}
    assert 10 < len(active) == len(s_active) and s_active == active


def test_metrics_on_spark_equal_duckdb(engines: tuple[Settings, Settings]) -> None:
    """The MRR bridge with its ratios, the MRR cohorts and the activity figures (inactivity)."""
    from tenure.metrics.activity import activity_report
    from tenure.metrics.months import month_of
    from tenure.metrics.serving import cohort_report, known_at, metrics_backend, month_reports
    from tenure.warehouse.stages.subscriptions import app_db_subscriptions

    duck, spark = engines
    engine = get_engine(duck)
    end = datetime(2025, 5, 1)
    subscriptions = known_at(app_db_subscriptions(engine), end)
    last = month_of(end.date()) - 1
    backend = metrics_backend(spark)
    assert backend.name == "pyspark" and metrics_backend(duck) is None

    months = month_reports(engine, duck, subscriptions, last - 2, last)
    assert month_reports(engine, duck, subscriptions, last - 2, last, backend) == months
    assert {m["new"] for m in months} != {0} and all(m["mrr_end"] for m in months)
    cohorts = cohort_report(duck, subscriptions, last)
    assert cohort_report(duck, subscriptions, last, backend) == cohorts
    assert len(cohorts["cohorts"]) > 3

    inactive = {"churn_definition": "inactivity"}
    args = {"end": end, "last": last, "months": 4, "cohort_months": 4}
    activity = activity_report(duck.model_copy(update=inactive), subscriptions, **args)
    assert activity_report(spark.model_copy(update=inactive), subscriptions, **args) == activity
    assert activity["months"][last]["active_accounts"] > 20
    engine.dispose()


def test_experiment_metrics_on_spark_equal_duckdb(engines: tuple[Settings, Settings]) -> None:
    """Every built-in metric (events, active days, churn, MRR, tickets) per variant."""
    from tenure.accounts.models import Account
    from tenure.experiments.definitions import load_definitions
    from tenure.experiments.summaries import warehouse_summaries

    duck, spark = engines
    engine = get_engine(duck)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(select(Account.id).order_by(Account.id))]
    rng = np.random.default_rng(3)
    exposed = rng.integers(0, 60 * 86_400, len(ids))
    exposures = pd.DataFrame(
        {
            "unit_id": ids,
            "variant": rng.choice(["control", "treatment"], len(ids)),
            "first_exposed_at": [datetime(2025, 2, 1) + timedelta(seconds=int(s)) for s in exposed],
        }
    )
    definitions = load_definitions()
    expected = warehouse_summaries(duck, engine, exposures, definitions, AS_OF)
    actual = warehouse_summaries(spark, engine, exposures, definitions, AS_OF)
    engine.dispose()

    assert set(actual) == set(expected) == {d.name for d in definitions}
    for name, variants in expected.items():
        assert set(actual[name]) == set(variants) == {"control", "treatment"}
        for variant, summary in variants.items():
            assert actual[name][variant] == summary, (name, variant)  # integer-valued sums
    assert expected["events_30d"]["control"].sum > 0
    assert expected["tickets_30d"]["control"].n > 0
