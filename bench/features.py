"""Benchmark the churn feature build (Ibis on DuckDB) against hand-written SQL and pandas.

Prints one JSON object. Data: a simulated book (`--accounts`, `--months`) imported into a
temporary data dir (not timed). Timed, for the last day as of: (1) the event-derived usage
features through Ibis (the part that scales with events: counts per window and event name,
active days, distinct events, recency, active users), (2) the same features as one hand-written
DuckDB SQL query on the same table (results checked equal), (3) the whole `features` stage
(all sources, written to features_YYYYMMDD), and (4) pandas on a sample of accounts against
Ibis on the same sample. Peak RSS is the process maximum.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from tenure.churn import features as F
from tenure.churn.snapshots import EVENTS_VIEW, event_day_range, event_names
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.pipeline import StageContext
from tenure.warehouse.stages.features import features_stage

COLUMNS = [
    "events_7d", "events_30d", "events_prev_30d", "events_90d", "active_days_30d",
    "active_days_90d", "distinct_events_30d", "days_since_last_event",
]  # fmt: skip


def ibis_usage(
    warehouse, as_of: date, names: list[str], accounts: int | None = None
) -> pd.DataFrame:
    """Return the usage features of one day through Ibis."""
    backend = warehouse.ibis
    warehouse.con.execute(
        f"CREATE OR REPLACE TEMP VIEW {EVENTS_VIEW} AS SELECT CAST(account_id AS BIGINT) "
        "AS account_id, name, contact_external_id, make_timestamp(epoch_us(ts)) AS ts FROM events"
    )
    events = backend.table(EVENTS_VIEW)
    if accounts is not None:
        events = events.filter(events.account_id <= accounts)
    grid = F.as_of_table([as_of])
    cutoff = datetime.combine(as_of + timedelta(days=1), dtime())
    usage = F.usage_features(F.daily_event_counts(events, cutoff), grid, names)
    users = F.user_features(F.daily_active_users(events, cutoff), grid)
    joined = usage.left_join(
        users, [usage.as_of == users.as_of, usage.account_id == users.account_id]
    )
    return backend.execute(joined.drop("as_of_right", "account_id_right"))


def sql_usage(con, as_of: date, names: list[str]) -> pd.DataFrame:
    """Return the same features from one hand-written DuckDB query (pruned on ts, no ICU casts)."""
    per_name = ",\n".join(
        f"sum(n) FILTER (WHERE name = '{n}' AND age < 30) AS {F.event_column(n)}_30d, "
        f"sum(n) FILTER (WHERE name = '{n}' AND age >= 30 AND age < 60) AS {F.event_column(n)}_prev"
        for n in names
    )
    query = f"""
    WITH daily AS (
        SELECT CAST(account_id AS BIGINT) AS account_id, epoch_us(ts) // 86400000000 AS day,
               name, count(*) AS n
        FROM events WHERE ts >= $start AND ts < $cutoff GROUP BY ALL),
    w AS (SELECT *, $as_of_day - day AS age FROM daily),
    usage AS (
        SELECT account_id,
            sum(n) FILTER (WHERE age < 7) AS events_7d, sum(n) FILTER (WHERE age < 30) AS events_30d,
            sum(n) FILTER (WHERE age >= 30 AND age < 60) AS events_prev_30d, sum(n) AS events_90d,
            count(DISTINCT day) FILTER (WHERE age < 30) AS active_days_30d,
            count(DISTINCT day) AS active_days_90d,
            count(DISTINCT name) FILTER (WHERE age < 30) AS distinct_events_30d,
            min(age) AS days_since_last_event, {per_name}
        FROM w GROUP BY account_id),
    users AS (
        SELECT CAST(account_id AS BIGINT) AS account_id,
            count(DISTINCT contact_external_id) FILTER (WHERE ts >= $cutoff - INTERVAL 7 DAY)
                AS active_users_7d,
            count(DISTINCT contact_external_id) AS active_users_30d
        FROM events WHERE contact_external_id IS NOT NULL
          AND ts >= $cutoff - INTERVAL 30 DAY AND ts < $cutoff
        GROUP BY 1)
    SELECT usage.*, users.active_users_7d, users.active_users_30d
    FROM usage LEFT JOIN users USING (account_id)
    """
    cutoff = datetime.combine(as_of + timedelta(days=1), dtime(), tzinfo=UTC)
    params = {
        "cutoff": cutoff,
        "start": cutoff - timedelta(days=90),
        "as_of_day": (as_of - date(1970, 1, 1)).days,
    }
    return con.execute(query, params).df()


def pandas_usage(events: pd.DataFrame, as_of: date, names: list[str]) -> pd.DataFrame:
    """Return the same features with pandas (events: account_id, name, contact, ts naive UTC)."""
    day = events["ts"].dt.floor("D")
    age = (pd.Timestamp(as_of) - day).dt.days
    w = events.assign(day=day, age=age)
    w = w[(w["age"] >= 0) & (w["age"] < 90)]
    last30, last7 = w[w.age < 30], w[w.age < 7]
    g = w.groupby("account_id")
    out = pd.DataFrame(
        {
            "events_7d": last7.groupby("account_id").size(),
            "events_30d": last30.groupby("account_id").size(),
            "events_prev_30d": w[(w.age >= 30) & (w.age < 60)].groupby("account_id").size(),
            "events_90d": g.size(),
            "active_days_30d": last30.groupby("account_id")["day"].nunique(),
            "active_days_90d": g["day"].nunique(),
            "distinct_events_30d": last30.groupby("account_id")["name"].nunique(),
            "days_since_last_event": g["age"].min(),
            "active_users_7d": last7.groupby("account_id")["contact"].nunique(),
            "active_users_30d": last30.groupby("account_id")["contact"].nunique(),
        }
    )
    prev = w[(w.age >= 30) & (w.age < 60)]
    for n in names:
        stem = F.event_column(n)
        out[f"{stem}_30d"] = last30[last30.name == n].groupby("account_id").size()
        out[f"{stem}_prev"] = prev[prev.name == n].groupby("account_id").size()
    return out.fillna(0).reset_index()


def timed(fn, repeat: int = 3):
    """Return (best seconds, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def prepare(root: Path, accounts: int, months: int) -> Settings:
    """Simulate and import a book into root/data."""
    simulate(
        SimulationConfig(accounts=accounts, months=months, seed=1, end=date(2025, 7, 1)),
        root / "sim",
    )
    data = root / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "simulated", str(root / "sim")]
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return Settings(data_dir=data)


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=2)
    parser.add_argument("--pandas-accounts", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        settings = prepare(Path(tmp), args.accounts, args.months)
        with open_warehouse(settings) as warehouse:
            con = warehouse.con
            n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
            _, as_of = event_day_range(con)
            names = event_names(con, as_of)
            t_ibis, ours = timed(lambda: ibis_usage(warehouse, as_of, names))
            t_sql, theirs = timed(lambda: sql_usage(con, as_of, names))
            check = [*COLUMNS, "active_users_7d", "active_users_30d"]
            a = ours.sort_values("account_id").reset_index(drop=True)[check].fillna(0)
            b = theirs.sort_values("account_id").reset_index(drop=True)[check].fillna(0)
            equal = bool(len(a) == len(b) and np.array_equal(a.to_numpy(float), b.to_numpy(float)))
            small = args.pandas_accounts
            t_ibis_small, _ = timed(lambda: ibis_usage(warehouse, as_of, names, accounts=small))
            sample = con.execute(
                "SELECT CAST(account_id AS BIGINT) AS account_id, name, "
                "contact_external_id AS contact, make_timestamp(epoch_us(ts)) AS ts "
                "FROM events WHERE account_id <= ?",
                [small],
            ).df()
            n_small = len(sample)
            t_pandas, _ = timed(lambda: pandas_usage(sample, as_of, names), repeat=1)
        engine = get_engine(settings)
        t_stage, summary = timed(
            lambda: features_stage(StageContext(settings=settings, engine=engine, as_of=as_of)),
            repeat=1,
        )
    print(json.dumps({
        "events": int(n_events), "accounts": args.accounts, "as_of": as_of.isoformat(),
        "ibis_usage_s": round(t_ibis, 3), "hand_sql_usage_s": round(t_sql, 3),
        "ibis_over_sql": round(t_ibis / t_sql, 2), "results_equal": equal,
        "pandas_events": int(n_small), "ibis_small_s": round(t_ibis_small, 3),
        "pandas_small_s": round(t_pandas, 3), "pandas_over_ibis": round(t_pandas / t_ibis_small, 1),
        "features_stage_s": round(t_stage, 3), "feature_rows": summary["accounts"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "issue_targets": "50M events / 1M accounts: ibis ≤ 2× SQL, ≥ 5× faster than pandas, ≤ 4 GB",
    }))  # fmt: skip


if __name__ == "__main__":
    main()
