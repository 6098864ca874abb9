"""Benchmark the loyalty earning stage over a synthetic warehouse against a bare DuckDB count.

Fills (or reuses, with --keep) the synthetic events of bench/features.py (N events over 120
days and A accounts), enrols every account, then runs the stage's own earning of the 120 days
as one window (a catch-up run): the set-based earning (DuckDB plus the cool-down chain walk,
against the ledger's history) and the bulk posting to the SQLite ledger, timed apart; then
the same window again (a replay: nothing new to post). The baseline, in the same run and
on the same connection, is one bare DuckDB query counting the events each event rule matches
(per rule, GROUP BY): what reading and matching the events costs at the least. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_events import SYNTH_AS_OF, SYNTH_DAYS, reuse_or_fill
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.loyalty.bulk_posting import post_earning_table
from tenure.loyalty.event_earning import window_earnings
from tenure.loyalty.membership import enrol_accounts
from tenure.loyalty.models import LoyaltyEntry
from tenure.loyalty.program import parse_program
from tenure.loyalty.stage import members_of
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

RULES = [
    {"key": "weekly_login", "event": "login", "points": 10, "cooldown_days": 7},
    {"key": "reports", "event": "report_viewed", "points": 2, "max_per_month": 20},
    {"key": "exports", "event": "export_run", "points": 5},
    {
        "key": "first_dashboard",
        "event": "dashboard_created",
        "points": 200,
        "first_time_only": True,
    },
    {"key": "invites", "event": "user_invited", "points": 50, "cooldown_days": 30},
    {"key": "integrations", "event": "integration_connected", "points": 500, "max_per_account": 5},
]
PROGRAM = {
    "name": "bench", "point_value_minor": 1, "approval_threshold": 10_000,
    "holdout_fraction": 0.0, "rules": RULES,
    "tiers": [{"key": "member", "name": "Member", "qualifying_points": 0}],
}  # fmt: skip
BASELINE_SQL = f"""
SELECT r.rule, count(*) FROM {EVENTS} e JOIN bench_rules r ON r.event = e.name
WHERE e.ts >= $start AND e.ts < $end GROUP BY r.rule
"""


def seed_accounts(engine: sa.Engine, accounts: int) -> None:
    """Insert accounts 1..A with the synthetic external ids, in one executemany."""
    created = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [{"id": i, "external_id": f"acc_{i:07d}", "name": f"Account {i}", "created_at": created,
             "attributes": {}, "source": "file"} for i in range(1, accounts + 1)]  # fmt: skip
    from tenure.accounts.models import Account

    with session_scope(engine) as session:
        session.execute(sa.insert(Account), rows)


def run_stage_window(settings, engine, program) -> dict:
    """Earn the 120 synthetic days as one window, post them; time each part."""
    first = SYNTH_AS_OF - timedelta(days=SYNTH_DAYS - 1)
    with open_warehouse(settings, read_only=True) as warehouse, session_scope(engine) as session:
        start = time.perf_counter()
        members = members_of(session)
        earnings = window_earnings(warehouse.con, session, program, members, first, SYNTH_AS_OF)
        middle = time.perf_counter()
        posted = post_earning_table(session, earnings, program.expiry_months, "pipeline")
        end = time.perf_counter()
    return {"query_s": middle - start, "post_s": end - middle, "earnings": earnings.num_rows,
            "posted": posted}  # fmt: skip


def baseline(settings, program) -> tuple[float, int]:
    """Return the seconds of one bare per-rule count query over the same window, and its total."""
    import pyarrow as pa

    rules = pa.table(
        {"rule": [r.key for r in program.rules], "event": [r.event for r in program.rules]}
    )
    first = SYNTH_AS_OF - timedelta(days=SYNTH_DAYS - 1)
    params = {"start": datetime.combine(first, datetime.min.time(), tzinfo=UTC),
              "end": datetime.combine(SYNTH_AS_OF + timedelta(days=1), datetime.min.time(),
                                      tzinfo=UTC)}  # fmt: skip
    with open_warehouse(settings, read_only=True) as warehouse:
        warehouse.con.register("bench_rules", rules)
        start = time.perf_counter()
        counts = warehouse.con.execute(BASELINE_SQL, params).fetchall()
        seconds = time.perf_counter() - start
    return seconds, sum(n for _, n in counts)


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Reuse/keep the synthetic warehouse here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="tenure-loyalty-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    settings, generation = reuse_or_fill(root, args.events, args.accounts)
    if settings.app_database_url.startswith("sqlite"):
        Path(settings.app_database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine = get_engine(settings)
    migrate(engine)
    seed_accounts(engine, args.accounts)
    program = parse_program(PROGRAM, "bench")
    with session_scope(engine) as session:
        enrolled = enrol_accounts(session, program, settings)
    base_s, matched = baseline(settings, program)
    stage = run_stage_window(settings, engine, program)
    replay = run_stage_window(settings, engine, program)
    with session_scope(engine) as session:
        total = session.scalar(sa.select(sa.func.sum(LoyaltyEntry.amount)))
    print(json.dumps({
        "events": args.events, "accounts": args.accounts, "days": SYNTH_DAYS,
        "members": enrolled["members"], "events_matching_rules": matched,
        "earnings_posted": stage["posted"], "replay_posted": replay["posted"],
        "replay_query_s": round(replay["query_s"], 2), "replay_post_s": round(replay["post_s"], 2),
        "earning_query_s": round(stage["query_s"], 2), "posting_s": round(stage["post_s"], 2),
        "stage_s": round(stage["query_s"] + stage["post_s"], 2),
        "baseline_count_query_s": round(base_s, 2),
        "ratio_query_vs_baseline": round(stage["query_s"] / base_s, 2),
        "ratio_stage_vs_baseline": round((stage["query_s"] + stage["post_s"]) / base_s, 2),
        "ledger_sum": int(total or 0), **generation,
    }))  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
