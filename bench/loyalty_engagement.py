"""Benchmark the loyalty stage's engagement queries (streaks, challenges, contact scores).

Fills (or reuses, with --keep) the synthetic events of bench/synthetic_events.py (N events over
120 days and A accounts), then times, on one DuckDB connection in the same run, each query of
`tenure.loyalty.engagement` against a hand-written lower bound reading the same events:

- streaks vs a bare GROUP BY (account, week number) count with the same HAVING (no islands);
- challenges vs a bare count of each challenge's events per account in its window (no
  distinct names, no completion instant).

Every account is a member. Each query runs `--repeat` times; the best time is reported. Prints
JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_events import SYNTH_AS_OF, SYNTH_DAYS, reuse_or_fill
from tenure.loyalty import engagement
from tenure.loyalty.program import parse_program
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

START = SYNTH_AS_OF - timedelta(days=SYNTH_DAYS - 1)
PROGRAM = {
    "name": "bench", "point_value_minor": 1, "approval_threshold": 10_000,
    "rules": [{"key": "login", "event": "login", "points": 10},
              {"key": "exports", "event": "export_run", "points": 5}],
    "tiers": [{"key": "member", "name": "Member", "qualifying_points": 0}],
    "streak": {"min_events": 3, "lookback_weeks": 26},
    "challenges": [
        {"key": "explorer", "name": "E", "starts_on": str(START), "ends_on": str(SYNTH_AS_OF),
         "events": ["dashboard_created", "export_run", "user_invited", "feature_x_used"],
         "count": 3, "distinct": True},
        {"key": "inviter", "name": "I", "starts_on": str(START + timedelta(days=30)),
         "ends_on": str(SYNTH_AS_OF), "events": ["user_invited"], "count": 5},
    ],
}  # fmt: skip
STREAK_BASELINE = f"""
SELECT account_id, count(*) FROM (
    SELECT e.account_id, (epoch_us(e.ts) + 259200000000) // 604800000000 AS week
    FROM {EVENTS} e JOIN loyalty_members m ON m.account_id = e.account_id
    WHERE e.ts >= $start AND e.ts < $end GROUP BY 1, 2 HAVING count(*) >= 3
) GROUP BY account_id
"""
CHALLENGE_BASELINE = f"""
SELECT c.challenge, e.account_id, count(*)
FROM {EVENTS} e JOIN loyalty_members m ON m.account_id = e.account_id
JOIN challenge_events c ON c.event = e.name AND e.ts >= c.start_at AND e.ts < c.end_at
WHERE e.ts >= $start AND e.ts < $end GROUP BY 1, 2
"""


def best(action, repeat: int) -> tuple[float, object]:
    """Return the best wall time of action over repeat runs, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def bare(con, sql: str, tables: dict, params: dict):
    """Run a baseline query with its Arrow tables registered."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        for name in tables:
            con.unregister(name)


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Reuse/keep the synthetic warehouse here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="tenure-engagement-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    settings, generation = reuse_or_fill(root, args.events, args.accounts)
    program = parse_program(PROGRAM, "bench")
    members = list(range(1, args.accounts + 1))
    member_table = pa.table({"account_id": pa.array(members, pa.int64())})
    this_week = engagement.week_of(SYNTH_AS_OF)
    window = {"start": engagement.day_start(this_week - timedelta(weeks=25)),
              "end": engagement.day_start(SYNTH_AS_OF + timedelta(days=1))}  # fmt: skip
    challenges = engagement.open_challenges(program, SYNTH_AS_OF)
    with open_warehouse(settings, read_only=True) as warehouse:
        con = warehouse.con
        streak_s, streaks = best(
            lambda: engagement.streaks(con, program, members, SYNTH_AS_OF), args.repeat
        )
        streak_base_s, _ = best(
            lambda: bare(con, STREAK_BASELINE, {"loyalty_members": member_table}, window),
            args.repeat,
        )
        challenge_s, progress = best(
            lambda: engagement.challenge_progress(con, challenges, members, SYNTH_AS_OF),
            args.repeat,
        )
        tables = {
            "loyalty_members": member_table,
            "challenge_events": engagement._challenge_table(challenges, SYNTH_AS_OF),
        }
        span = {
            "start": engagement.day_start(START),
            "end": engagement.day_start(SYNTH_AS_OF + timedelta(days=1)),
        }
        challenge_base_s, _ = best(lambda: bare(con, CHALLENGE_BASELINE, tables, span), args.repeat)
        contact_s, scores = best(
            lambda: engagement.contact_scores(con, program, members, SYNTH_AS_OF), args.repeat
        )
    print(json.dumps({
        "events": args.events, "accounts": args.accounts,
        "streak_s": round(streak_s, 3), "streak_baseline_s": round(streak_base_s, 3),
        "ratio_streak_vs_baseline": round(streak_s / streak_base_s, 2),
        "accounts_with_a_streak": sum(1 for r in streaks if r["current_weeks"] > 0),
        "challenge_s": round(challenge_s, 3), "challenge_baseline_s": round(challenge_base_s, 3),
        "ratio_challenge_vs_baseline": round(challenge_s / challenge_base_s, 2),
        "challenge_rows": len(progress),
        "completions": sum(1 for r in progress if r["completed_at"] is not None),
        "contact_scores_s": round(contact_s, 3), "contact_rows": len(scores), **generation,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
