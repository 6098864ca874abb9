"""Benchmark the loyalty earning stage over a synthetic warehouse against bare baselines.

Fills (or reuses, with --keep) the synthetic events of bench/features.py (N events over 120
days and A accounts), enrols every account, then runs the stage's own earning of the 120 days
as one window (a catch-up run): the set-based earning (DuckDB plus the cool-down chain walk,
against the ledger's history) and the bulk posting to the SQLite ledger, timed apart; then
the same window again (a replay: nothing new to post). Two baselines in the same run: one
bare DuckDB query counting the events each event rule matches (per rule, GROUP BY) on the same
connection, what reading and matching the events costs at the least; and a bare sqlite3 write
of the same ledger rows (movements, two entries and a lot each, wallet credits) into a copy of
the app DB taken before the stage posts, one executemany per table. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
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
            "posted": posted, "table": earnings}  # fmt: skip


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


MOVEMENT_SQL = """INSERT INTO loyalty_movement (id, account_id, kind, points, rule, source_key,
occurred_at, posted_at, actor, written_off) VALUES (?, ?, 'earn', ?, ?, ?, ?, ?, 'pipeline', 0)"""
ENTRY_SQL = "INSERT INTO loyalty_entry (movement_id, ledger_account, account_id, amount) VALUES (?, ?, ?, ?)"
LOT_SQL = """INSERT INTO loyalty_lot (account_id, movement_id, points, remaining, earned_at,
expires_on) VALUES (?, ?, ?, ?, ?, ?)"""
WALLET_SQL = """INSERT INTO loyalty_wallet (account_id, balance, updated_at) VALUES (?, ?, ?)
ON CONFLICT (account_id) DO UPDATE SET balance = balance + excluded.balance,
updated_at = excluded.updated_at"""


def snapshot_app_db(settings, target: Path) -> Path:
    """Copy the SQLite app DB as it is now (SQLite's backup API) for the bare posting."""
    source = sqlite3.connect(settings.app_database_url.removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    source.backup(copy)
    source.close()
    copy.close()
    return target


def bare_posting(path: Path, table, expiry_months: int) -> float:
    """Return the seconds of a hand-written sqlite3 write of the same earnings' ledger rows.

    The same rows the stage writes (a movement, two entries and a lot per earning, each
    wallet credited), on a copy of the same app DB with the app's pragmas: ids assigned in
    Python (the bare writer knows it is alone), one executemany per table, one commit.
    """
    import pyarrow.compute as pc

    from tenure.loyalty.ledger import add_months

    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    start = time.perf_counter()
    con.execute("BEGIN")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    ts = pc.strftime(table["ts"], format="%Y-%m-%d %H:%M:%S").to_pylist()
    account, points = table["account_id"].to_pylist(), table["points"].to_pylist()
    first_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM loyalty_movement").fetchone()[0]
    ids = range(first_id, first_id + table.num_rows)
    con.executemany(MOVEMENT_SQL, zip(ids, account, points, table["rule"].to_pylist(),
                                      table["source_key"].to_pylist(), ts, repeat(now)))  # fmt: skip
    con.executemany(ENTRY_SQL, (row for i, a, p in zip(ids, account, points, strict=True)
                                for row in ((i, "wallet", a, p), (i, "liability", None, -p))))  # fmt: skip
    expiry: dict[str, str] = {}
    for day in {t[:10] for t in ts}:
        expiry[day] = add_months(date.fromisoformat(day), expiry_months).isoformat()
    con.executemany(LOT_SQL, ((a, i, p, p, t, expiry[t[:10]])
                              for i, a, p, t in zip(ids, account, points, ts, strict=True)))  # fmt: skip
    sums = table.group_by("account_id").aggregate([("points", "sum")])
    con.executemany(WALLET_SQL, zip(sums["account_id"].to_pylist(),
                                    sums["points_sum"].to_pylist(), repeat(now)))  # fmt: skip
    con.execute("COMMIT")
    seconds = time.perf_counter() - start
    con.close()
    return seconds


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
    sqlite = settings.app_database_url.startswith("sqlite")
    if sqlite:  # with their WAL files: a stale one would be replayed into the new database
        for db in (Path(settings.app_database_url.removeprefix("sqlite:///")),
                   root / "bare_posting.db"):  # fmt: skip
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = get_engine(settings)
    migrate(engine)
    seed_accounts(engine, args.accounts)
    program = parse_program(PROGRAM, "bench")
    with session_scope(engine) as session:
        enrolled = enrol_accounts(session, program, settings)
    bare_db = snapshot_app_db(settings, root / "bare_posting.db") if sqlite else None
    base_s, matched = baseline(settings, program)
    stage = run_stage_window(settings, engine, program)
    bare_s = bare_posting(bare_db, stage["table"], program.expiry_months) if bare_db else None
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
        "bare_posting_s": round(bare_s, 2) if bare_s else None,
        "ratio_posting_vs_bare": round(stage["post_s"] / bare_s, 2) if bare_s else None,
        "ratio_stage_vs_both_baselines": round(
            (stage["query_s"] + stage["post_s"]) / (base_s + bare_s), 2) if bare_s else None,
        "ledger_sum": int(total or 0), **generation,
    }))  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
