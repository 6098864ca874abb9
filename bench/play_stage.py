"""Benchmark the daily `plays` pipeline stage against the `health` stage on the same book.

Prints one JSON object. A book of N accounts (subscriptions, tickets, failed invoices, NPS
answers and about two events per account per day for 60 days, as bench/health.py builds it) gets
two earlier days of health scores, a churn score per account (a fifth medium risk, a twentieth
high), open `ticket-spike` and `failed-payment` alerts for a few per cent of the accounts, the
default templates, journeys and plays. Then, on the same data dir in the same run, the `health`
stage and the `plays` stage run for the day (each on a fresh copy of the day's inputs, timed
over `--rounds`: the plays written by a round are deleted before the next). Target (issue 21 §6):
`plays_over_health` ≤ 1.5.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from health import build_app_db, build_events, own_schema
from tenure import clock
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.health.daily import health_scores, recompute_day
from tenure.messaging import journeys_store, templates
from tenure.plays.service import load_plays
from tenure.plays.stage import play_runs
from tenure.stage import StageContext

ALERT_RULES = (("ticket-spike", "ticket_spike", 30), ("failed-payment", "failed_payment", 50))


def _naive(moment: datetime, engine: Engine) -> datetime:
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment


def add_owners_and_churn(engine: Engine, accounts: int, day) -> None:
    """Give every account a CSM, a contact and a churn score for day (1 in 5 medium, 1 in 20 high)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE account SET owner = 'csm' || (id % 40) || '@example.com'"))
        conn.execute(
            text(
                "INSERT INTO contact (account_id, external_id, email, consent)"
                " VALUES (:a, :ext, :email, '{}')"
            ),
            [
                {"a": i, "ext": f"C{i}", "email": f"c{i}@example.com"}
                for i in range(1, accounts + 1)
            ],
        )
        rows, scored = [], _naive(clock.now(), engine)
        for i in range(1, accounts + 1):
            tier = "high" if i % 20 == 3 else "medium" if i % 5 == 1 else "low"
            probability = {"high": 0.6, "medium": 0.3, "low": 0.05}[tier]
            rows.append({"a": i, "d": day, "p": probability, "t": tier, "at": scored})
        conn.execute(
            text(
                "INSERT INTO churn_score (account_id, as_of, horizon_days, model_version,"
                " probability, risk_tier, reasons, scored_at)"
                " VALUES (:a, :d, 90, 'bench', :p, :t, '[]', :at)"
            ),
            rows,
        )


def add_alerts(engine: Engine, accounts: int, day) -> None:
    """Open a ticket-spike alert on 1 account in 30 and a failed-payment one on 1 in 50."""
    opened = _naive(datetime.combine(day, datetime.min.time(), tzinfo=UTC), engine)
    rows = []
    for rule, kind, every in ALERT_RULES:
        for i in range(7, accounts + 1, every):
            rows.append({"a": i, "r": rule, "k": kind, "key": f"{i}:{rule}", "at": opened})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert (account_id, rule, kind, severity, owner, status, message,"
                " facts, open_key, opened_at, updated_at) VALUES (:a, :r, :k, 'warning',"
                " 'csm@example.com', 'open', 'bench', '{}', :key, :at, :at)"
            ),
            rows,
        )


def load_definitions(engine: Engine) -> None:
    """Load the default templates, journeys and plays (`tenure … load --defaults`)."""
    with session_scope(engine) as session:
        templates.load_defaults(session, actor="bench")
        journeys_store.load_default_journeys(session)
        load_plays(session, None, actor="bench")


def forget_plays(engine: Engine) -> None:
    """Delete what a plays stage wrote (runs, tasks, enrolments, deliveries) for the next round."""
    with engine.begin() as conn:
        for table in (
            "csm_task",
            "journey_step_run",
            "journey_enrollment",
            "alert_delivery",
            "play_run",
        ):
            conn.execute(text(f"DELETE FROM {table}"))


def timed(function, context: StageContext) -> tuple[float, dict[str, Any]]:
    """Run one stage; return its seconds and summary."""
    started = time.perf_counter()
    summary = function(context)
    return time.perf_counter() - started, summary


def build(settings: Settings, engine: Engine, accounts: int, day) -> float:
    """Build the book, its earlier health days, churn scores, alerts and definitions."""
    started = time.perf_counter()
    build_app_db(engine, accounts, day)
    build_events(settings, accounts, day, 2.0)
    for past in (day - timedelta(days=7), day - timedelta(days=1)):
        recompute_day(settings, engine, past)
    add_owners_and_churn(engine, accounts, day)
    add_alerts(engine, accounts, day)
    load_definitions(engine)
    return time.perf_counter() - started


def main() -> None:
    """Build the book once, time both stages over rounds, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="app DB (default: SQLite)")
    parser.add_argument("--profile", action="store_true", help="cProfile the last plays round")
    args = parser.parse_args()
    day = clock.now().date() - timedelta(days=1)
    with (
        tempfile.TemporaryDirectory(prefix="bench-play-stage-") as tmp,
        own_schema(args.database_url) as url,
    ):
        settings = Settings(data_dir=Path(tmp), database_url=url)
        engine = get_engine(settings)
        migrate(engine)
        built = build(settings, engine, args.accounts, day)
        context = StageContext(settings, engine, day)
        health, plays, summary = [], [], {}
        for round_ in range(args.rounds):
            health.append(timed(health_scores, context)[0])
            if round_:
                forget_plays(engine)
            profiler = cProfile.Profile() if args.profile and round_ == args.rounds - 1 else None
            if profiler:
                profiler.enable()
            seconds, summary = timed(play_runs, context)
            plays.append(seconds)
            if profiler:
                profiler.disable()
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        engine.dispose()
    result = {
        "accounts": args.accounts,
        "app_db": "postgresql" if args.database_url else "sqlite",
        "build_s": round(built, 1),
        "rounds": args.rounds,
        "health_stage_s": round(statistics.median(health), 2),
        "plays_stage_s": round(statistics.median(plays), 2),
        "plays_over_health": round(statistics.median(plays) / statistics.median(health), 2),
        "target": 1.5,
        "plays_entered": summary.get("entered"),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
