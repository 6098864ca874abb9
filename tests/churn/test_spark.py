"""The churn feature stage and labels on Spark local[2] equal those on DuckDB.

One small simulated book (120 accounts × 4 months), its events exported as Parquet partitioned
by day; the `features` stage runs once with the embedded warehouse and once with
TENURE_WAREHOUSE_URL=spark://local[2]?events=…, and the two tables must be equal value for
value (every column, NULLs in the same places). One Spark session for the module.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate
from tenure.stage import StageContext
from tenure.warehouse.catalog import feature_table_name
from tenure.warehouse.connection import open_warehouse

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
    """Return the book's events exported as Parquet partitioned by day."""
    from tenure.warehouse.spark import export_events

    out = tmp_path_factory.mktemp("spark_events") / "events"
    with open_warehouse(Settings(data_dir=book), read_only=True) as warehouse:
        assert export_events(warehouse.con, out) > 10_000
    return out


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
    shutil.copytree(book, duck_dir)
    shutil.copytree(book, spark_dir)
    _, expected = _features(Settings(data_dir=duck_dir))

    assert any(p.name.startswith("day=2025-04-") for p in parquet.iterdir())
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


def test_labels_on_spark_equal_duckdb(book: Path, parquet: Path, tmp_path: Path) -> None:
    """The 30-day churn labels of two as-of days, every account, are equal on both engines."""
    from tenure.churn.inactivity import definition_labels
    from tenure.churn.snapshots import open_sources
    from tenure.churn.spark import open_spark_sources
    from tenure.warehouse.spark import parse_url

    shutil.copytree(book, tmp_path / "data")
    settings = Settings(data_dir=tmp_path / "data")
    engine = get_engine(settings)
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

    with open_warehouse(settings) as warehouse:
        expected = labels(open_sources(warehouse, engine, settings))
    target = parse_url(f"spark://local[2]?events={parquet}")
    actual = labels(open_spark_sources(target, engine, settings))
    engine.dispose()

    assert len(expected) > 200  # every account on both days
    assert 0 < expected["churned"].sum() < len(expected)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)
