"""Benchmark health: the daily recompute for N accounts, and the real-time path's latency.

Prints one JSON object. The daily figure is compared with a baseline measured in the same run
(a bare DuckDB group-by over the same events plus a bare insert of N one-column rows); the
real-time figure is the time from acknowledging a batch (its commit) to the touched accounts'
scores being stored, per account, while a producer records events at a steady rate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import text

from tenure import clock
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import create_db_engine, get_engine, session_scope
from tenure.events.service import record_events
from tenure.health.daily import recompute_day
from tenure.health.refresher import ScoreRefresher
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

FEATURES = ["login", "report_viewed", "dashboard_created", "export_run", "api_call"]


def build_app_db(engine, accounts: int, day) -> None:
    """Insert accounts, one subscription each, tickets, failed invoices and NPS answers."""
    rng = np.random.default_rng(1)
    created = datetime(2023, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        naive = created.replace(tzinfo=None) if engine.dialect.name == "sqlite" else created
        conn.execute(
            text(
                "INSERT INTO account (id, external_id, name, created_at, attributes, source)"
                " VALUES (:id, :ext, :name, :created, '{}', 'bench')"
            ),
            [
                {"id": i, "ext": f"A{i}", "name": f"Account {i}", "created": naive}
                for i in range(1, accounts + 1)
            ],
        )
        seats = rng.integers(1, 50, accounts)
        conn.execute(
            text(
                "INSERT INTO subscription (account_id, external_id, plan, status, mrr, currency,"
                " quantity, billing_interval, started_at) VALUES (:a, :ext, 'pro', 'active', :mrr,"
                " 'USD', :q, :interval, :started)"
            ),
            [
                {
                    "a": i,
                    "ext": f"S{i}",
                    "mrr": int(seats[i - 1]) * 1000,
                    "q": int(seats[i - 1]),
                    "interval": "year" if i % 5 == 0 else "month",
                    "started": naive + timedelta(days=i % 365),
                }
                for i in range(1, accounts + 1)
            ],
        )
        ticket_day = datetime.combine(day, datetime.min.time()) - timedelta(days=5)
        conn.execute(
            text(
                "INSERT INTO ticket (account_id, external_id, opened_at, priority, status, csat)"
                " VALUES (:a, :ext, :at, :p, 'open', :csat)"
            ),
            [
                {"a": int(a), "ext": f"T{n}", "at": ticket_day, "p": "high", "csat": int(1 + n % 5)}
                for n, a in enumerate(rng.integers(1, accounts + 1, accounts // 3))
            ],
        )
        conn.execute(
            text(
                "INSERT INTO invoice (account_id, external_id, amount, currency, status, issued_at)"
                " VALUES (:a, :ext, 100, 'USD', 'failed', :at)"
            ),
            [
                {"a": int(a), "ext": f"I{n}", "at": ticket_day}
                for n, a in enumerate(rng.integers(1, accounts + 1, accounts // 20))
            ],
        )
        conn.execute(
            text(
                "INSERT INTO survey_response (account_id, external_id, kind, score, responded_at)"
                " VALUES (:a, :ext, 'nps', :s, :at)"
            ),
            [
                {"a": int(a), "ext": f"N{n}", "s": int(n % 11), "at": ticket_day}
                for n, a in enumerate(rng.integers(1, accounts + 1, accounts // 5))
            ],
        )


def build_events(settings: Settings, accounts: int, day, per_day: float) -> int:
    """Generate about per_day events per account per day over 60 days in the warehouse."""
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with open_warehouse(settings) as warehouse:
        warehouse.con.execute(
            f"INSERT INTO {EVENTS} SELECT 'm' || a || '-' || d || '-' || k, a, 'A' || a,"
            " 'u' || a || '-' || (k % 7), (['login','report_viewed','dashboard_created',"
            "'export_run','api_call'])[1 + ((a * 7 + d + k) % 5)],"
            " $end - to_days(d + 1) + to_seconds((a * 13 + k * 977) % 86400), NULL, 'bench',"
            " $end, NULL FROM range(1, $n + 1) t1(a), range(60) t2(d), range($k) t3(k)"
            " WHERE hash(a, d, k) % 1000 < $keep",
            {
                "end": end,
                "n": accounts,
                "k": int(np.ceil(per_day)),
                "keep": int(1000 * per_day / np.ceil(per_day)),
            },
        )
        return warehouse.con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()[0]


def baseline_seconds(settings: Settings, engine, day, accounts: int) -> float:
    """Time a bare group-by over the events plus a bare insert of one row per account."""
    started = time.perf_counter()
    with open_warehouse(settings, read_only=True) as warehouse:
        warehouse.con.execute(
            f"SELECT account_id, count(*) FROM {EVENTS} GROUP BY account_id"
        ).fetchall()
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_rows (account_id INTEGER, score FLOAT)"))
        conn.execute(
            text("INSERT INTO bench_rows VALUES (:a, :s)"),
            [{"a": i, "s": 1.0} for i in range(accounts)],
        )
        conn.execute(text("DROP TABLE bench_rows"))
    return time.perf_counter() - started


def realtime(
    engine, refresher, settings, accounts: int, rate: int, seconds: float, batch: int
) -> dict:
    """Record events at `rate` per second in batches; return latency percentiles."""
    refresher.latencies.clear()
    rng = random.Random(7)
    sent, started, lag = 0, time.perf_counter(), []
    interval = batch / rate
    while (now := time.perf_counter()) - started < seconds:
        due = started + (sent // batch) * interval
        if now < due:
            time.sleep(due - now)
        stamp = clock.now()
        events = [
            {
                "message_id": f"rt-{sent + i}",
                "account_id": f"A{rng.randint(1, accounts)}",
                "contact_id": f"u{rng.randint(0, 9)}",
                "event": rng.choice(FEATURES),
                "timestamp": stamp.isoformat(),
            }
            for i in range(batch)
        ]
        t0 = time.perf_counter()
        with session_scope(engine) as db_session:
            recorded = record_events(
                events, db_session=db_session, login_events=settings.health_login_events
            )
        refresher.submit(recorded.touched_accounts)
        lag.append(time.perf_counter() - t0)
        sent += batch
    elapsed = time.perf_counter() - started
    refresher.flush(timeout=60)
    latencies = np.array(refresher.latencies)
    return {
        "events": sent,
        "events_per_second": round(sent / elapsed, 1),
        "batch": batch,
        "acknowledge_ms_p50": round(1000 * float(np.percentile(lag, 50)), 1),
        "acknowledge_ms_p99": round(1000 * float(np.percentile(lag, 99)), 1),
        "accounts_refreshed": int(latencies.size),
        "latency_s_p50": round(float(np.percentile(latencies, 50)), 3),
        "latency_s_p99": round(float(np.percentile(latencies, 99)), 3),
        "latency_s_max": round(float(latencies.max()), 3),
        "target_s_p99": 5.0,
    }


@contextlib.contextmanager
def own_schema(url: str | None) -> Iterator[str | None]:
    """Yield url bound to a fresh PostgreSQL schema (dropped afterwards); SQLite: None."""
    if not url:
        yield None
        return
    schema = f"bench_health_{os.getpid()}"
    admin = create_db_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        joiner = "&" if "?" in url else "?"
        yield f"{url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def main() -> None:
    """Run both benchmarks and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--events-per-day", type=float, default=2.0)
    parser.add_argument("--rate", type=int, default=1000, help="events per second (real-time)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=50, help="events per recorded batch")
    parser.add_argument(
        "--database-url", default=None, help="app DB (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    day = clock.now().date() - timedelta(days=1)
    with (
        tempfile.TemporaryDirectory(prefix="bench-health-") as tmp,
        own_schema(args.database_url) as url,
    ):
        settings = Settings(data_dir=Path(tmp), database_url=url)
        engine = get_engine(settings)
        migrate(engine)
        t0 = time.perf_counter()
        build_app_db(engine, args.accounts, day)
        events = build_events(settings, args.accounts, day, args.events_per_day)
        built = time.perf_counter() - t0
        for past in (day - timedelta(days=7), day - timedelta(days=1)):
            recompute_day(settings, engine, past)  # history: trends, reasons, tier changes
        baseline = baseline_seconds(settings, engine, day, args.accounts)
        t1 = time.perf_counter()
        summary = recompute_day(settings, engine, day)
        daily = time.perf_counter() - t1
        refresher = ScoreRefresher(engine, settings).start()
        live = realtime(
            engine, refresher, settings, args.accounts, args.rate, args.seconds, args.batch
        )
        refresher.stop()
        engine.dispose()
    result = {
        "accounts": args.accounts,
        "events_in_warehouse": events,
        "app_db": "postgresql" if args.database_url else "sqlite",
        "build_seconds": round(built, 1),
        "daily_recompute_seconds": round(daily, 2),
        "daily_target_seconds": 15.0,
        "daily_stage_parts": summary["seconds"],
        "baseline_seconds": round(baseline, 2),
        "daily_over_baseline": round(daily / baseline, 2),
        "tiers": summary["tiers"],
        "notifications": summary["notifications"],
        "realtime": live,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
