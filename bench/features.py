"""Benchmark the churn feature build (Ibis on DuckDB) against hand-written SQL and pandas.

Prints one JSON object. Data: a simulated book (`--accounts`, `--months`) imported into a
temporary data dir (not timed), or with `--synthetic-events N` N events written straight into a
fresh warehouse's `events` table by one DuckDB query in a child process (not timed; see
bench/synthetic_events.py). Timed, for the last day as of: (1) the event-derived usage
features through Ibis (the part that scales with events: counts per window and event name,
active days, distinct events, recency, active users), (2) the same features as one hand-written
DuckDB SQL query on the same table (results checked equal), (3) the whole `features` stage
(all sources, written to features_YYYYMMDD), and (4) pandas on a sample of accounts against
Ibis on the same sample; (3) is skipped in synthetic mode (no app-DB accounts or subscriptions).
Peak RSS: `peak_rss_after_ibis_mb` is read right after the first full-size Ibis run (before SQL and
pandas), `peak_rss_mb` at the end; a synthetic generator's peak is its own child process's.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from synthetic_events import US_PER_DAY, reuse_or_fill
from tenure.churn import features as F
from tenure.churn.snapshots import EVENTS_VIEW, event_day_range, event_names
from tenure.churn.stages import account_features
from tenure.churn.usage import day_usage
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.simulate import SimulationConfig, simulate
from tenure.stage import StageContext
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

SAMPLE = "bench_events_sample"  # the pandas comparison's events, as a table of their own


def ibis_usage(warehouse, as_of: date, names: list[str], source: str = EVENTS) -> pd.DataFrame:
    """Return the usage features of one day through Ibis, read from the `source` event table.

    The `features` stage's expression for one as-of (churn.usage.day_usage), fetched through
    Arrow, which casts DuckDB's HUGEINT sums to the int64 Ibis declares in one vectorised step
    (Ibis's pandas path makes a Python Decimal per value: 4.6 GB at 1M accounts).
    """
    backend = warehouse.ibis
    warehouse.con.execute(
        f"CREATE OR REPLACE TEMP VIEW {EVENTS_VIEW} AS SELECT CAST(account_id AS BIGINT) "
        "AS account_id, name, contact_external_id, make_timestamp(epoch_us(ts)) AS ts "
        f"FROM {source}"
    )
    expr = day_usage(backend.table(EVENTS_VIEW), as_of, names)
    return backend.to_pyarrow(expr).to_pandas()


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def sql_usage(con, as_of: date, names: list[str]) -> pd.DataFrame:
    """Return the same features from the fastest exact hand-written DuckDB query we found.

    One scan of the 90 days before the cutoff, filtered on the raw `ts` (zone maps skip older
    row groups), each row's age in days from its stored microseconds and an integer code per
    listed name (one CASE, then integer filters); every window, per-name count, active-day
    mask (bit = age) and recency is a conditional aggregate of one GROUP BY account; the
    rare unlisted names get a COUNT(DISTINCT); active users are a two-level aggregate over
    the 30 days, joined on. docs/benchmarks.md lists the formulations tried.
    """
    code = " ".join(f"WHEN {_quoted(n)} THEN {i}" for i, n in enumerate(names))
    per_name = ",\n".join(
        f"count(*) FILTER (WHERE k = {i} AND age < 30) AS {F.event_column(n)}_30d, "
        f"count(*) FILTER (WHERE k = {i} AND age >= 30 AND age < 60) AS {F.event_column(n)}_prev"
        for i, n in enumerate(names)
    )
    listed = " + ".join(f"({F.event_column(n)}_30d > 0)::BIGINT" for n in names) or "0"
    outputs = ", ".join(f"{F.event_column(n)}_30d, {F.event_column(n)}_prev" for n in names)
    query = f"""
    WITH w AS (
        SELECT account_id, name, $as_of_day - epoch_us(ts) // {US_PER_DAY} AS age,
               CASE name {code} ELSE -1 END AS k
        FROM events WHERE ts >= $start AND ts < $cutoff),
    a AS (
        SELECT account_id,
            count(*) FILTER (WHERE age < 7) AS events_7d,
            count(*) FILTER (WHERE age < 30) AS events_30d,
            count(*) FILTER (WHERE age >= 30 AND age < 60) AS events_prev_30d,
            count(*) AS events_90d,
            bit_or(1::BIGINT << (age % 60)) FILTER (WHERE age < 60) AS days_low,
            bit_or(1::BIGINT << (age % 60)) FILTER (WHERE age >= 60) AS days_high,
            count(DISTINCT name) FILTER (WHERE age < 30 AND k = -1) AS other_names,
            min(age) AS days_since_last_event, {per_name}
        FROM w GROUP BY account_id),
    latest AS (
        SELECT account_id, contact_external_id, max(ts) AS last_ts FROM events
        WHERE ts >= $cutoff - INTERVAL 30 DAY AND ts < $cutoff
          AND contact_external_id IS NOT NULL
        GROUP BY ALL),
    users AS (
        SELECT account_id, count(*) FILTER (WHERE last_ts >= $cutoff - INTERVAL 7 DAY)
            AS active_users_7d, count(*) AS active_users_30d
        FROM latest GROUP BY account_id)
    SELECT CAST(a.account_id AS BIGINT) AS account_id, events_7d, events_30d,
        events_prev_30d, events_90d,
        bit_count(coalesce(days_low, 0) & {(1 << 30) - 1}) AS active_days_30d,
        bit_count(coalesce(days_low, 0)) + bit_count(coalesce(days_high, 0)) AS active_days_90d,
        other_names + {listed} AS distinct_events_30d, days_since_last_event, {outputs},
        coalesce(active_users_7d, 0) AS active_users_7d,
        coalesce(active_users_30d, 0) AS active_users_30d
    FROM a LEFT JOIN users ON a.account_id = users.account_id
    """
    cutoff = datetime.combine(as_of + timedelta(days=1), dtime(), tzinfo=UTC)
    params = {
        "cutoff": cutoff,
        "start": cutoff - timedelta(days=90),
        "as_of_day": (as_of - date(1970, 1, 1)).days,
    }
    return con.execute(query, params).to_arrow_table().to_pandas()


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


def peak_rss_mb() -> float:
    """Return this process's peak RSS so far in MB (ru_maxrss, KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def duckdb_settings(con) -> dict:
    """Return the memory limit and threads the product's warehouse connection runs with."""
    limit, threads = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads')"
    ).fetchone()
    return {"duckdb_memory_limit": limit, "duckdb_threads": int(threads)}


def same_features(ours: pd.DataFrame, theirs: pd.DataFrame) -> bool:
    """Return whether the Ibis and SQL usage features are equal, every column, account by account."""
    check = sorted(set(ours.columns) - {"as_of"})
    if sorted(theirs.columns) != check or len(ours) != len(theirs):
        return False
    a = ours.sort_values("account_id").reset_index(drop=True)[check].fillna(0)
    b = theirs.sort_values("account_id").reset_index(drop=True)[check].fillna(0)
    return bool(np.array_equal(a.to_numpy(float), b.to_numpy(float)))


def interleaved(first, second, repeat: int = 3) -> tuple[list[float], list[float], dict]:
    """Time first and second alternately (progress on stderr); return seconds and results.

    The peak RSS is read right after the first run of `first`, before `second` ever ran.
    """
    times: tuple[list[float], list[float]] = ([], [])
    results: dict = {}
    for rep in range(repeat):
        for i, fn in enumerate((first, second)):
            start = time.perf_counter()
            results[i] = fn()
            times[i].append(round(time.perf_counter() - start, 3))
            print(f"rep {rep} {'ab'[i]}: {times[i][-1]} s", file=sys.stderr, flush=True)
            if rep == 0 and i == 0:
                results["rss_first"] = peak_rss_mb()
    return times[0], times[1], results


def measure_warehouse(warehouse, small: int, repeat: int = 3) -> tuple[dict, date]:
    """Time parts (1), (2) and (4) on an open warehouse; return the results and the as-of."""
    con = warehouse.con
    n_events = con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()[0]
    _, as_of = event_day_range(con)
    names = event_names(con, as_of)
    rss_before = peak_rss_mb()
    ibis_s, sql_s, got = interleaved(
        lambda: ibis_usage(warehouse, as_of, names), lambda: sql_usage(con, as_of, names), repeat
    )
    t_ibis, t_sql, rss_ibis = min(ibis_s), min(sql_s), got["rss_first"]
    equal, columns = same_features(got[0], got[1]), len(got[0].columns) - 1
    del got
    # pandas and Ibis on the same events: the first `small` accounts' events as their own table
    con.execute(f"CREATE OR REPLACE TABLE {SAMPLE} AS FROM {EVENTS} WHERE account_id <= ?", [small])
    t_ibis_small, _ = timed(lambda: ibis_usage(warehouse, as_of, names, source=SAMPLE))
    sample = con.execute(
        "SELECT CAST(account_id AS BIGINT) AS account_id, name, "
        "contact_external_id AS contact, make_timestamp(epoch_us(ts)) AS ts "
        f"FROM {SAMPLE}"
    ).df()
    con.execute(f"DROP TABLE {SAMPLE}")
    t_pandas, _ = timed(lambda: pandas_usage(sample, as_of, names), repeat=1)
    return {
        "events": int(n_events), "as_of": as_of.isoformat(), **duckdb_settings(con),
        "ibis_usage_s": round(t_ibis, 3), "hand_sql_usage_s": round(t_sql, 3),
        "ibis_over_sql": round(t_ibis / t_sql, 2), "results_equal": equal,
        "compared_columns": columns, "ibis_runs_s": ibis_s, "hand_sql_runs_s": sql_s,
        "ibis_over_sql_per_rep": [round(a / b, 2) for a, b in zip(ibis_s, sql_s, strict=True)],
        "peak_rss_before_ibis_mb": rss_before, "peak_rss_after_ibis_mb": rss_ibis,
        "pandas_accounts": small, "pandas_events": len(sample),
        "ibis_small_s": round(t_ibis_small, 3), "pandas_small_s": round(t_pandas, 3),
        "pandas_over_ibis": round(t_pandas / t_ibis_small, 1),
    }, as_of  # fmt: skip


def measure_stage(settings: Settings, as_of: date) -> dict:
    """Time part (3), the whole `features` stage, on the imported book."""
    engine = get_engine(settings)
    t_stage, summary = timed(
        lambda: account_features(StageContext(settings=settings, engine=engine, as_of=as_of)),
        repeat=1,
    )
    return {"features_stage_s": round(t_stage, 3), "feature_rows": summary["accounts"]}


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=2)
    parser.add_argument("--pandas-accounts", type=int, default=5_000)
    parser.add_argument(
        "--synthetic-events", type=int, default=None, metavar="N",
        help="fill the events table with N synthetic events over --accounts instead of simulating",
    )  # fmt: skip
    parser.add_argument(
        "--keep", type=Path, default=None, metavar="DIR",
        help="synthetic mode: keep the warehouse in DIR/data and reuse it when it is there",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="interleaved Ibis/SQL repetitions")
    parser.add_argument(
        "--only-generate", action="store_true", help="stop after writing the synthetic warehouse"
    )
    args = parser.parse_args()
    synthetic = args.synthetic_events is not None
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        if synthetic:
            root = args.keep or Path(tmp)
            settings, data = reuse_or_fill(root, args.synthetic_events, args.accounts)
            if args.only_generate:
                print(json.dumps(data))
                return
        else:
            settings, data = prepare(Path(tmp), args.accounts, args.months), {}
        with open_warehouse(settings) as warehouse:
            results, as_of = measure_warehouse(warehouse, args.pandas_accounts, args.repeat)
        if synthetic:
            stage = {
                "features_stage_s": None,
                "features_stage_skipped": "synthetic mode fills only the events table; the "
                "stage also reads app-DB accounts and subscriptions",
            }
        else:
            stage = measure_stage(settings, as_of)
    print(json.dumps({
        "data": "synthetic" if synthetic else "simulated", "accounts": args.accounts, **data,
        **results, **stage, "peak_rss_mb": peak_rss_mb(),
        "issue_targets": "50M events / 1M accounts: ibis ≤ 2× SQL, ≥ 5× faster than pandas, ≤ 4 GB",
    }))  # fmt: skip


if __name__ == "__main__":
    main()
