"""Benchmark the `history` stage (archive, weekly roll-up, trim) against a bare export.

Fills a SQLite (or --database-url) app DB with A accounts × D days of churn and health scores,
then runs the stage once for the last day: every day archived as Parquet, the weeks before the
90-day window rolled up from the archive, their daily rows deleted. The baseline, in the same
run on a copy of the same rows, is the least an export can cost: one plain SELECT per table
(all days) written as one Parquet file by pyarrow. Also reports the app DB's rows before and
after and the file size. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.db.bulk import bulk_insert_columns
from tenure.db.migrate import migrate
from tenure.db.session import get_engine
from tenure.health.models import HealthScore
from tenure.history.stage import score_history
from tenure.stage import StageContext

END = date(2025, 6, 30)
STAMP = datetime(2025, 6, 30, tzinfo=UTC)


def fill(engine: sa.Engine, accounts: int, days: int) -> int:
    """Insert accounts and their daily scores; return the rows per table."""
    ids = list(range(1, accounts + 1))
    with Session(engine) as session:
        session.add_all(
            Account(id=i, external_id=f"A{i}", name=f"A{i}", created_at=STAMP, attributes={})
            for i in ids
        )
        session.commit()
    add_days(engine, ids, [END - timedelta(days=days - 1 - k) for k in range(days)])
    return accounts * days


def add_days(engine: sa.Engine, ids: list[int], days: list[date]) -> None:
    """Insert every account's churn and health score of each day."""
    rng = np.random.default_rng(days[0].toordinal())
    accounts = len(ids)
    with engine.begin() as conn:
        for day in days:
            score = rng.uniform(0, 100, accounts)
            p = rng.uniform(0, 1, accounts)
            bulk_insert_columns(conn, HealthScore.__table__, {
                "account_id": ids, "score": score.tolist(),
                "tier": np.where(score > 60, "healthy", "at_risk").tolist(),
            }, constants={"as_of": day, "scorecard": "default", "measures": {}, "updated_at": STAMP})  # fmt: skip
            bulk_insert_columns(conn, ChurnScore.__table__, {
                "account_id": ids, "probability": p.tolist(),
                "risk_tier": np.where(p > 0.5, "high", "low").tolist(),
            }, constants={"as_of": day, "horizon_days": 90, "model_version": "1", "reasons": [],
                          "scored_at": STAMP})  # fmt: skip


def bare_export(engine: sa.Engine, out: Path) -> float:
    """Return the seconds to SELECT both tables whole and write each as one Parquet file."""
    started = time.perf_counter()
    with engine.connect() as conn:
        for table in ("churn_score", "health_score"):
            result = conn.execute(sa.text(f"SELECT * FROM {table}"))
            names = list(result.keys())
            columns = list(zip(*result.all(), strict=True))
            data = {n: pa.array([str(v) if isinstance(v, dict | list) else v for v in c])
                    for n, c in zip(names, columns, strict=True)}  # fmt: skip
            pq.write_table(pa.table(data), out / f"{table}.parquet")
    return time.perf_counter() - started


def count(engine: sa.Engine, table: str) -> int:
    """Return the rows of a table."""
    with engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def main() -> None:
    """Fill, run the bare export and the stage, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=args.database_url)
        engine = get_engine(settings)
        migrate(engine)
        rows = fill(engine, args.accounts, args.days)
        baseline = bare_export(engine, Path(tmp))
        started = time.perf_counter()
        summary = score_history(StageContext(settings=settings, engine=engine, as_of=END))
        stage_seconds = time.perf_counter() - started
        tomorrow = END + timedelta(days=1)
        add_days(engine, list(range(1, args.accounts + 1)), [tomorrow])
        started = time.perf_counter()
        score_history(StageContext(settings=settings, engine=engine, as_of=tomorrow))
        next_day_seconds = time.perf_counter() - started
        archive = settings.warehouse_path.parent / "score_history"
        size = sum(p.stat().st_size for p in archive.rglob("*.parquet"))
        print(json.dumps({
            "accounts": args.accounts, "days": args.days, "rows_per_table": rows,
            "stage_seconds": round(stage_seconds, 2), "bare_export_seconds": round(baseline, 2),
            "stage_vs_bare_export": round(stage_seconds / baseline, 2),
            "next_day_seconds": round(next_day_seconds, 2),
            "app_db_rows_after": {t: count(engine, t) for t in ("churn_score", "health_score")},
            "score_week_rows": count(engine, "score_week"),
            "archive_mb": round(size / 1e6, 1), "summary": summary,
            "dialect": engine.dialect.name,
        }))  # fmt: skip
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
