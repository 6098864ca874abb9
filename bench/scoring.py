"""Benchmark daily scoring: N accounts scored with reasons and written back to the app DB.

Prints one JSON object. A simulated book is imported and a champion trained (not timed); the
day's feature table is then replicated to N accounts (rows sampled with replacement, each given
a new account in the app DB) and the timed part runs: calibrated probabilities, exact tree-SHAP
contributions, plain-language reasons, and the replacing write of N `churn_score` rows.
XGBoost's own `pred_contribs` on the same matrix is the baseline of the SHAP step. The app DB
is SQLite in the temporary data dir, or with `--postgres SERVER_URL` a scratch database on that
server (COPY path), dropped at the end. CPU seconds of this process are reported beside the
wall times (`score_cpu_s`, `write_cpu_s`): on shared cores they drift less than wall time.

Same-run ratios (issue 18 §4): `reasons_over_pred_contribs` = (our tree SHAP + the reasons JSON)
÷ XGBoost's `pred_contribs` on the same matrix (target ≤ 0.15); `write_over_bare` = the first
write (`write_scores`: delete the day, insert, commit) ÷ a bare driver `executemany` (SQLite) or
`COPY` (PostgreSQL) of the same rows, already bound, into the emptied day, commit included
(target ≤ 1.2). The two writes alternate `--write-rounds` times; the ratio is of the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, delete, insert, make_url
from typer.testing import CliRunner

from tenure.accounts.models import Account
from tenure.churn import registry, treeshap
from tenure.churn.flows import train_churn_model
from tenure.churn.models import ChurnScore
from tenure.churn.reasons import reasons_json
from tenure.churn.scoring import _DAY_COLUMNS, _ROW_COLUMNS, _row_values, score_frame, write_scores
from tenure.churn.snapshots import read_feature_table
from tenure.churn.stages import account_features
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.bulk import bind, bind_column
from tenure.db.session import get_engine, session_scope
from tenure.simulate import SimulationConfig, simulate
from tenure.stage import StageContext
from tenure.warehouse.connection import open_warehouse

DAY = date(2025, 6, 30)


def prepare(root: Path, accounts: int, database_url: str | None = None) -> Settings:
    """Simulate, import and train a champion; build the day's features."""
    config = SimulationConfig(accounts=accounts, months=12, seed=3, end=date(2025, 7, 1))
    simulate(config, root / "sim")
    data = root / "data"
    env = {"TENURE_DATABASE_URL": database_url} if database_url else {}
    result = CliRunner(env=env).invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)
    settings = Settings(data_dir=data, database_url=database_url)
    engine = get_engine(settings)
    train_churn_model(settings, engine)
    account_features(StageContext(settings=settings, engine=engine, as_of=DAY))
    return settings


@contextlib.contextmanager
def scratch_database(server_url: str | None):
    """Yield the URL of a new, empty PostgreSQL database on the server (None: SQLite)."""
    if not server_url:
        yield None
        return
    url = make_url(server_url)
    name = f"tenure_bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def add_accounts(engine, n: int) -> list[int]:
    """Insert n bench accounts and return their ids."""
    created = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [{"external_id": f"bench_{i}", "name": f"Bench {i}", "created_at": created,
             "attributes": {}, "source": "bench"} for i in range(n)]  # fmt: skip
    with session_scope(engine) as session:
        session.execute(insert(Account), rows)
    with engine.connect() as conn:
        ids = conn.exec_driver_sql("SELECT id FROM account WHERE source = 'bench' ORDER BY id")
        return [row[0] for row in ids]


def shap_timings(model, features) -> dict[str, float]:
    """Time the vectorised tree SHAP against XGBoost's pred_contribs on the same matrix."""
    import xgboost

    prepared = model.pipeline[:-1].transform(model.frame(features))
    booster = model.pipeline[-1].get_booster()
    start, cpu = time.perf_counter(), time.process_time()
    ours = treeshap.from_booster(booster).contributions(prepared)
    t_ours, c_ours = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    theirs = booster.predict(xgboost.DMatrix(prepared), pred_contribs=True)
    t_theirs, c_theirs = time.perf_counter() - start, time.process_time() - cpu
    return {
        "treeshap_s": round(t_ours, 3), "pred_contribs_s": round(t_theirs, 3),
        "treeshap_cpu_s": round(c_ours, 3), "pred_contribs_cpu_s": round(c_theirs, 3),
        "treeshap_speedup": round(t_theirs / t_ours, 2),
        "treeshap_max_abs_diff": float(np.abs(ours - theirs).max()),
    }  # fmt: skip


def bound_rows(engine, scores, day: dict) -> list[tuple]:
    """Return the churn_score rows exactly as write_scores binds them (not timed)."""
    dialect, table = engine.dialect, ChurnScore.__table__
    values = _row_values(dialect, scores)
    columns = [
        values[name] if name == "reasons" else bind_column(table, name, values[name], dialect)
        for name in _ROW_COLUMNS
    ]
    constants = tuple(bind(table, name, day[name], dialect) for name in _DAY_COLUMNS)
    return [row + constants for row in zip(*columns, strict=True)]


def bare_write(engine, rows: list[tuple]) -> float:
    """Time a bare driver executemany (SQLite) or COPY (PostgreSQL) of rows, commit included."""
    names = ", ".join(_ROW_COLUMNS + _DAY_COLUMNS)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        start = time.perf_counter()
        if engine.dialect.name == "postgresql":
            with (
                cursor.connection.cursor() as pg,
                pg.copy(f"COPY churn_score ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(rows[0]))
            cursor.executemany(f"INSERT INTO churn_score ({names}) VALUES ({marks})", rows)
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def clear_day(engine) -> None:
    """Delete the bench day's scores (not timed)."""
    with engine.begin() as connection:
        connection.execute(delete(ChurnScore).where(ChurnScore.as_of == DAY))


def write_ratio(engine, scores, version: str, rounds: int) -> dict[str, Any]:
    """Alternate write_scores and the bare write into the emptied day; return medians and ratio."""
    ours, bare = [], []
    for _ in range(rounds):
        clear_day(engine)
        start = time.perf_counter()
        write_scores(engine, scores, as_of=DAY, horizon=90, version=version)
        ours.append(time.perf_counter() - start)
        clear_day(engine)
        day = dict(zip(_DAY_COLUMNS, (DAY, 90, version, datetime.now(UTC)), strict=True))
        rows = bound_rows(engine, scores, day)
        bare.append(bare_write(engine, rows))
        del rows
    clear_day(engine)
    return {
        "write_rounds_s": [round(t, 2) for t in ours], "bare_write_rounds_s": [round(t, 2) for t in bare],
        "bare_write_kind": "COPY" if engine.dialect.name == "postgresql" else "executemany",
        "write_over_bare": round(float(np.median(ours) / np.median(bare)), 3),
        "write_target": 1.2,
    }  # fmt: skip


def stage_timings(model, features) -> dict[str, float]:
    """Time the parts of score_frame once more, one by one: matrix, SHAP pass, reasons JSON."""
    start = time.perf_counter()
    numbers = model.number_columns(features)
    model.model_columns(features, numbers)
    t_matrix = time.perf_counter() - start
    start = time.perf_counter()
    explained = model.explain(features)  # builds the matrix again
    t_explain = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    labels = features.reindex(columns=model.categorical)
    reasons_json(explained.contributions, model.columns, explained.numbers, labels)
    t_reasons, c_reasons = time.perf_counter() - start, time.process_time() - cpu
    return {
        "part_matrix_s": round(t_matrix, 2), "part_matrix_and_shap_s": round(t_explain, 2),
        "part_reasons_json_s": round(t_reasons, 3), "part_reasons_json_cpu_s": round(c_reasons, 3),
    }  # fmt: skip


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--book-accounts", type=int, default=1_500)
    parser.add_argument("--write-rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="write to a fresh database on this PostgreSQL server "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp,
        scratch_database(args.postgres) as database_url,
    ):
        settings = prepare(Path(tmp), args.book_accounts, database_url)
        engine = get_engine(settings)
        with open_warehouse(settings, read_only=True) as warehouse:
            day = read_feature_table(warehouse.con, DAY)
        rng = np.random.default_rng(0)
        features = day.iloc[rng.integers(0, len(day), args.n)].reset_index(drop=True)
        features["account_id"] = add_accounts(engine, args.n)
        start = time.perf_counter()
        loaded = registry.load_version(settings, "churn")
        t_load = time.perf_counter() - start
        start, cpu = time.perf_counter(), time.process_time()
        scores = score_frame(loaded, features)
        t_score, c_score = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        written = write_scores(engine, scores, as_of=DAY, horizon=90, version=loaded.version)
        t_write, c_write = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        write_scores(engine, scores, as_of=DAY, horizon=90, version=loaded.version)
        t_rewrite = time.perf_counter() - start
        shap = shap_timings(loaded.model, features)
        parts = stage_timings(loaded.model, features)
        writes = write_ratio(engine, scores, loaded.version, args.write_rounds)
    reasons_s = shap["treeshap_s"] + parts["part_reasons_json_s"]
    reasons_cpu = shap["treeshap_cpu_s"] + parts["part_reasons_json_cpu_s"]
    print(json.dumps({
        "accounts_scored": written, "app_db": "postgresql" if args.postgres else "sqlite", "model_load_s": round(t_load, 2),
        "score_with_reasons_s": round(t_score, 2), "write_back_s": round(t_write, 2),
        "replace_day_s": round(t_rewrite, 2), "total_s": round(t_load + t_score + t_write, 2),
        "score_cpu_s": round(c_score, 2), "write_cpu_s": round(c_write, 2),
        "accounts_per_s": round(written / (t_load + t_score + t_write)), **parts, **shap,
        "reasons_s": round(reasons_s, 2),
        "reasons_over_pred_contribs": round(reasons_s / max(shap["pred_contribs_s"], 0.01), 3),
        "reasons_over_pred_contribs_cpu": round(reasons_cpu / max(shap["pred_contribs_cpu_s"], 0.01), 3),
        "reasons_target": 0.15, **writes,
        "issue_target": "1M accounts incl. reasons and write-back <= 10 s",
    }))  # fmt: skip


if __name__ == "__main__":
    main()
