"""Benchmark the redemption API (`POST /v1/loyalty/redemptions`) under 2 workers, as JSON.

Usage: .venv/bin/python bench/loyalty_redeem.py [--accounts 10000] [--seconds 10]
       [--connections 8] [--database-url URL]

Set-up (bench/api.py's data dir: N accounts, an admin token): a programme with one cheap
reward (10 points, stock enough for the run, under the approval threshold), every account a
member holding 1,000,000 points. Then against `tenure serve --workers 2` (wrk, closed loop,
--latency): the baseline `GET /healthz` and redemptions of the reward by random accounts, each
with its own Idempotency-Key, after a warm-up run of the same length. Reported: requests/s,
p50/p90/p99 (target: p99 ≤ 50 ms at ≥ 300 requests/s), non-2xx, and afterwards the books:
redemptions stored, the ledger's entries summing to zero and no wallet below zero.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api as served
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope

PROGRAM = """
name = "bench"
point_value_minor = 1
approval_threshold = 10000
holdout_fraction = 0.0
[[rules]]
key = "seed"
event = "bench_seed"
points = 1
[[tiers]]
key = "member"
name = "Member"
qualifying_points = 0
[[rewards]]
key = "bench-swag"
name = "Bench swag"
kind = "swag"
points = 10
stock = 2000000000
"""
REDEEM_LUA = """
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local accounts = tonumber(os.getenv("BENCH_ACCOUNTS"))
local run = os.getenv("BENCH_RUN")
local n = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = run .. "-" .. math.random(1, 2147483647) .. "-" .. n
  local body = '{"account_id": ' .. math.random(1, accounts) .. ', "reward_key": "bench-swag"}'
  return wrk.format(nil, "/v1/loyalty/redemptions", nil, body)
end
"""


def fund_members(settings: Settings, accounts: int, data_dir: Path) -> None:
    """Load the bench programme, enrol every account and give each 1,000,000 points."""
    from tenure.loyalty.ledger import Earning, post_earnings
    from tenure.loyalty.models import LoyaltyEnrolment
    from tenure.loyalty.service import load_program

    path = data_dir / "bench_program.toml"
    path.write_text(PROGRAM)
    engine = get_engine(settings)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        load_program(session, path)
        rows = [
            {"account_id": i, "arm": "member", "enrolled_at": now} for i in range(1, accounts + 1)
        ]
        session.execute(sa.insert(LoyaltyEnrolment), rows)
        grants = [
            Earning(i, "seed", 1_000_000, f"bench:seed:{i}", now) for i in range(1, accounts + 1)
        ]
        post_earnings(session, grants, 12)
    engine.dispose()


def books(settings: Settings) -> dict[str, int]:
    """Return redemptions stored, the ledger's sum and wallets below zero."""
    from tenure.loyalty.models import LoyaltyEntry, LoyaltyRedemption, LoyaltyWallet

    engine = get_engine(settings)
    with session_scope(engine) as session:
        found = {
            "redemptions": session.scalar(
                sa.select(sa.func.count()).select_from(LoyaltyRedemption)
            ),
            "ledger_sum": int(session.scalar(sa.select(sa.func.sum(LoyaltyEntry.amount))) or 0),
            "negative_wallets": session.scalar(
                sa.select(sa.func.count()).where(LoyaltyWallet.balance < 0)
            ),
        }
    engine.dispose()
    return found


def main() -> None:
    """Set up, serve, load with wrk and print the JSON figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    args.batch = 1
    data_dir = Path(tempfile.mkdtemp(prefix="tenure-redeem-bench-")) / "data"
    settings = Settings(data_dir=data_dir, secret_key="bench-signing-key-" + "b" * 32,
                        database_url=args.database_url)  # fmt: skip
    keys = served.prepare(settings, args.accounts)
    fund_members(settings, args.accounts, data_dir)
    env = served._environment(args, settings, keys) | {"BENCH_RUN": f"r{time.time_ns()}"}
    port = served.free_port()
    server = served.start_server(data_dir, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        baseline = served.run_wrk(f"{base}/healthz", args.seconds, args.connections, None, env)
        served.run_wrk(base, args.seconds, args.connections, REDEEM_LUA, env)  # warm-up
        redeem = served.run_wrk(base, args.seconds, args.connections, REDEEM_LUA, env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({
        "app_db": "postgresql" if args.database_url else "sqlite", "workers": 2,
        "accounts": args.accounts, "connections": args.connections, "seconds": args.seconds,
        "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
        "baseline_healthz": baseline, "redeem": redeem,
        "meets_target": redeem["rps"] >= 300 and redeem["p99_ms"] <= 50 and not redeem["non_2xx"],
        **books(settings),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
