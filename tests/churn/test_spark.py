"""The churn feature stage on Spark local[2] writes the same table as on DuckDB.

One small simulated book (120 accounts × 4 months), its events exported as Parquet partitioned
by day; the `features` stage runs once with the embedded warehouse and once with
TENURE_WAREHOUSE_URL=spark://local[2]?events=…, and the two tables must be equal value for
value (every column, NULLs in the same places). One Spark session for the module.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

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


def test_features_on_spark_equal_duckdb(book: Path, tmp_path: Path) -> None:
    from tenure.warehouse.spark import export_events

    duck_dir, spark_dir = tmp_path / "duck", tmp_path / "spark"
    shutil.copytree(book, duck_dir)
    shutil.copytree(book, spark_dir)
    _, expected = _features(Settings(data_dir=duck_dir))

    parquet = tmp_path / "events"
    with open_warehouse(Settings(data_dir=spark_dir), read_only=True) as warehouse:
        exported = export_events(warehouse.con, parquet)
    assert exported > 10_000
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
