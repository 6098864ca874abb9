"""The full daily score history in the warehouse: day-partitioned Parquet beside the DuckDB file.

`score_history/<table>/as_of=YYYY-MM-DD/part.parquet`, one file per day and table (churn_score,
health_score), written by the pipeline's `history` stage and read with DuckDB (or Spark) by
backtests, experiments and retraining. The API server never reads it: it serves the app DB's
window of daily rows and the weekly roll-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.health.models import HealthScore

HISTORY_DIR = "score_history"
# What each archived table keeps: the app-DB columns (JSON columns as their text).
COLUMNS = {
    "churn_score": ("account_id", "horizon_days", "model_version", "probability", "risk_tier",
                    "reasons", "scored_at"),
    "health_score": ("account_id", "scorecard", "score", "tier", "measures", "reason",
                     "change_7d", "change_30d", "updated_at"),
}  # fmt: skip
MODELS = {"churn_score": ChurnScore, "health_score": HealthScore}
JSON_COLUMNS = {"reasons", "measures"}


def history_root(settings: Settings) -> Path:
    """Return the directory of the archived score history."""
    return settings.warehouse_path.parent / HISTORY_DIR


def partition(root: Path, table: str, day: date) -> Path:
    """Return the Parquet file of one table's day."""
    return root / table / f"as_of={day.isoformat()}" / "part.parquet"


def archived_days(root: Path, table: str) -> set[date]:
    """Return the days of a table already in the archive."""
    folder = root / table
    if not folder.is_dir():
        return set()
    return {
        date.fromisoformat(p.parent.name.split("=", 1)[1]) for p in folder.glob("*/part.parquet")
    }


def _day_rows(conn: sa.Connection, table: str, day: date) -> pa.Table:
    """Return one day's app-DB rows of a score table as Arrow (JSON columns as text)."""
    model = MODELS[table]
    columns = [
        sa.cast(getattr(model, c), sa.Text).label(c) if c in JSON_COLUMNS else getattr(model, c)
        for c in COLUMNS[table]
    ]
    rows = conn.execute(sa.select(*columns).where(model.as_of == day)).all()
    values = list(zip(*rows, strict=True)) if rows else [[] for _ in COLUMNS[table]]
    return pa.table({c: pa.array(list(v)) for c, v in zip(COLUMNS[table], values, strict=True)})


def export_days(engine: sa.Engine, root: Path, table: str, days: Iterable[date]) -> int:
    """Write (or rewrite) each day's partition from the app DB; return the rows written."""
    written = 0
    with engine.connect() as conn:
        for day in sorted(days):
            rows = _day_rows(conn, table, day)
            if rows.num_rows == 0:
                continue
            target = partition(root, table, day)
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(".tmp")
            pq.write_table(rows, temporary)
            os.replace(temporary, target)  # readers see the old file or the new one, never half
            written += rows.num_rows
    return written


def source_sql(root: Path, table: str, columns: dict[str, str]) -> str:
    """Return a DuckDB FROM source of a table's archive (an empty one when nothing is archived).

    columns maps each wanted column to its SQL type, for the empty case.
    """
    if not archived_days(root, table):
        nulls = ", ".join(f"NULL::{kind} AS {name}" for name, kind in columns.items())
        return f"(SELECT NULL::BIGINT AS account_id, NULL::DATE AS as_of, {nulls} WHERE false)"
    pattern = str(root / table / "*" / "part.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = true, hive_types = {{'as_of': DATE}})"


def read_history(root: Path, table: str, columns: dict[str, str], days: list[date]) -> pa.Table:
    """Return a table's archived rows of some days: account_id, as_of and the given columns."""
    wanted = ", ".join(["account_id", "as_of", *columns])
    con = duckdb.connect()  # in memory: never the warehouse file or its writer lock
    try:
        query = f"SELECT {wanted} FROM {source_sql(root, table, columns)} WHERE as_of = ANY(?)"
        return con.execute(query, [sorted(days)]).to_arrow_table()
    finally:
        con.close()


def archived_score_days(root: Path, until: date) -> list[date]:
    """Return the archived churn-score days on or before until."""
    return sorted(d for d in archived_days(root, "churn_score") if d <= until)
