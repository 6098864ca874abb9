"""Benchmark the HTTP API under `tenure serve --workers 2` with wrk, as JSON.

Usage: .venv/bin/python bench/api.py [--accounts 100000] [--seconds 10] [--connections 16]
       [--batch 500] [--keep DIR] [--database-url URL]

Set-up: a fresh data dir with N accounts, each with a running subscription and one day of
health and churn scores (bulk-inserted), an admin token and a tracking write key. Then, against
`tenure serve --workers 2` on 127.0.0.1 (wrk, closed loop, --latency):
- baseline: `GET /healthz` (no auth, no database) — the ceiling of this machine and server;
- score: `GET /v1/accounts/{random id}/score` with a bearer token — requests/s, p50/p90/p99,
  and score_vs_baseline = score rps / baseline rps (after an unreported warm-up run of the
  same length, so the database pages are in the page cache: steady state, not a cold start);
- batch: `POST /v1/batch` of --batch Segment track calls with unique messageIds — events/s
  acknowledged (HTTP 200 × batch), then the inbox is counted and moved to the warehouse with
  `tenure warehouse sync` and counted there: lost = acknowledged − stored (must be 0);
- bare insert: the same 500-row batches inserted straight into the inbox table with Core, one
  transaction per batch, one connection, for as long (the same run, the same database), and
  batch_vs_bare_insert = acknowledged events/s ÷ bare events/s.
Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tenure.auth import service
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.events.models import InboxEvent

TENURE = str(Path(sys.executable).parent / "tenure")
SCORE_LUA = """
local n = tonumber(os.getenv("BENCH_ACCOUNTS"))
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
request = function()
  return wrk.format("GET", "/v1/accounts/" .. math.random(1, n) .. "/score")
end
"""
BATCH_LUA = """
local n = tonumber(os.getenv("BENCH_ACCOUNTS"))
local size = tonumber(os.getenv("BENCH_BATCH"))
local run = os.getenv("BENCH_RUN")
local threads = 0
local counter = 0
local template = nil
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.headers["Content-Type"] = "application/json"
setup = function(thread)
  threads = threads + 1
  thread:set("tag", run .. "t" .. threads)
end
init = function(args)
  math.randomseed(os.time() + #tag)
  local parts = {}
  for i = 1, size do
    parts[i] = string.format(
      '{"type":"track","messageId":"@@-%d","event":"Feature Used","userId":"u%d",' ..
      '"context":{"groupId":"A%07d"},"properties":{"feature":"export"},' ..
      '"timestamp":"2025-06-30T10:00:00Z"}', i, i, math.random(1, n))
  end
  template = '{"batch":[' .. table.concat(parts, ",") .. ']}'
end
request = function()
  counter = counter + 1
  local body = template:gsub("@@", tag .. "-" .. counter)
  return wrk.format(nil, "/v1/batch", nil, body)
end
"""


def parse_args() -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--keep", type=Path, default=None, help="data dir to keep (else temp)")
    parser.add_argument(
        "--database-url", default=None, help="app DB (e.g. an empty PostgreSQL schema); SQLite else"
    )
    return parser.parse_args()


def _rows(accounts: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(7)
    created = datetime(2024, 1, 1, tzinfo=UTC)
    as_of, now = date(2025, 6, 29), datetime(2025, 6, 30, tzinfo=UTC)
    reasons = [{"feature": "logins_30d", "value": 2.0, "contribution": 0.31, "text": "few logins"}]
    out: dict[str, list[dict[str, Any]]] = {
        "account": [],
        "subscription": [],
        "health": [],
        "churn": [],
    }
    for i in range(1, accounts + 1):
        p = rng.random()
        out["account"].append(
            {
                "id": i,
                "external_id": f"A{i:07d}",
                "name": f"Account {i}",
                "created_at": created,
                "owner": f"csm{i % 40}@example.com",
                "attributes": {},
                "source": "bench",
            }
        )
        out["subscription"].append(
            {
                "account_id": i,
                "external_id": f"S{i:07d}",
                "plan": "pro",
                "status": "active",
                "mrr": rng.randrange(2_000, 200_000),
                "currency": "USD",
                "quantity": 1,
                "billing_interval": "month",
                "started_at": created,
                "ended_at": None,
            }
        )
        score = rng.uniform(5, 100)
        out["health"].append(
            {
                "account_id": i,
                "as_of": as_of,
                "scorecard": "default",
                "score": score,
                "tier": "red" if score < 40 else "yellow" if score < 70 else "green",
                "measures": {"logins": {"value": 3.0, "score": score, "weight": 1.0}},
                "reason": "logins",
                "change_7d": -2.0,
                "change_30d": 1.0,
                "updated_at": now,
            }
        )
        out["churn"].append(
            {
                "account_id": i,
                "as_of": as_of,
                "horizon_days": 90,
                "model_version": "bench-1",
                "probability": p,
                "risk_tier": "high" if p > 0.6 else "medium" if p > 0.3 else "low",
                "reasons": reasons,
                "scored_at": now,
            }
        )
    return out


def prepare(settings: Settings, accounts: int) -> dict[str, str]:
    """Fill the app DB; return an admin access token and a write key."""
    from tenure.accounts.models import Account, Subscription
    from tenure.churn.models import ChurnScore
    from tenure.health.models import HealthScore

    engine = get_engine(settings)
    migrate(engine)
    rows = _rows(accounts)
    with session_scope(engine) as session:
        for model, key in (
            (Account, "account"),
            (Subscription, "subscription"),
            (HealthScore, "health"),
            (ChurnScore, "churn"),
        ):
            session.execute(sa.insert(model), rows[key])
        admin = service.create_user(session, "bench@example.com", "bench password 1", "admin")
        token = service.issue_tokens(settings, session, service.user_principal(admin))
        _, key = service.create_write_key(session, "bench")
    engine.dispose()
    return {"token": token["access_token"], "key": key}


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    """Start `tenure serve --workers 2` and wait until /healthz answers."""
    command = [TENURE, "--data-dir", str(data_dir), "serve", "--port", str(port), "--workers", "2"]
    log = (data_dir / "serve.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                time.sleep(1.0)  # let the second worker come up too
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=60)
    raise SystemExit("the server did not come up: " + (data_dir / "serve.log").read_text()[-2000:])


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, seconds: int, connections: int, script: str | None, env: dict) -> dict:
    """Run wrk and return requests/s, latency percentiles (ms) and error counts."""
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        url,
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script or "")
    if script:
        command[1:1] = ["-s", handle.name]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    os.unlink(handle.name)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout} {done.stderr}")
    output = done.stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    for pct in ("50", "90", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", output).groups()
        result[f"p{pct}_ms"] = round(float(value) * UNITS[unit], 3)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    result["socket_errors"] = socket_errors.group(1) if socket_errors else None
    return result


def count_stored(settings: Settings, data_dir: Path, env: dict) -> tuple[int, int]:
    """Return (inbox rows, warehouse events) after moving the inbox to the warehouse."""
    engine = get_engine(settings)
    with session_scope(engine) as session:
        inbox = session.scalar(sa.select(sa.func.count()).select_from(InboxEvent))
    engine.dispose()
    subprocess.run(
        [TENURE, "--data-dir", str(data_dir), "init"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [TENURE, "--data-dir", str(data_dir), "warehouse", "sync"],
        env=env,
        check=True,
        capture_output=True,
    )
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    stored = con.execute("SELECT count(*) FROM events WHERE source = 'segment'").fetchone()[0]
    con.close()
    return inbox, stored


def bare_insert(settings: Settings, accounts: int, size: int, seconds: float) -> dict[str, Any]:
    """Insert the bench's batches straight into the inbox (one transaction each) for seconds.

    The same rows the API stores for a batch (message_id, account, user, name, ts, properties,
    source, received_at), through SQLAlchemy Core's executemany, one connection: the floor
    under which `/v1/batch` cannot go on this database. Tagged source 'bare', then deleted.
    """
    engine = get_engine(settings)
    table, rng = InboxEvent.__table__, random.Random(11)
    ts = datetime(2025, 6, 30, 10, tzinfo=UTC)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        account = [rng.randint(1, accounts) for _ in range(size)]
        rows = [
            {
                "message_id": f"bare-{done}-{i}",
                "account_external_id": f"A{account[i]:07d}",
                "account_id": account[i],
                "contact_external_id": f"u{i + 1}",
                "name": "Feature Used",
                "ts": ts,
                "properties": {"feature": "export"},
                "source": "bare",
                "received_at": datetime.now(UTC),
            }
            for i in range(size)
        ]
        with engine.begin() as conn:
            conn.execute(sa.insert(table), rows)
        done += 1
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.source == "bare"))
    engine.dispose()
    return {"batches": done, "events_per_second": round(done * size / elapsed)}


def _environment(args: argparse.Namespace, settings: Settings, keys: dict[str, str]) -> dict:
    basic = base64.b64encode(f"{keys['key']}:".encode()).decode()
    return {
        **os.environ,
        "TENURE_SECRET_KEY": settings.secret_key or "",
        "TENURE_DATA_DIR": str(settings.data_dir),
        **({"TENURE_DATABASE_URL": args.database_url} if args.database_url else {}),
        "BENCH_TOKEN": keys["token"],
        "BENCH_ACCOUNTS": str(args.accounts),
        "BENCH_BATCH": str(args.batch),
        "BENCH_RUN": f"r{int(time.time())}",
        "BENCH_BASIC": basic,
    }


def measure(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Fill the app DB, serve it, load it with wrk, count what was stored; return the figures."""
    started = time.perf_counter()
    env = _environment(args, settings, prepare(settings, args.accounts))
    setup_seconds = round(time.perf_counter() - started, 1)
    port = free_port()
    server = start_server(settings.data_dir, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        baseline = run_wrk(f"{base}/healthz", args.seconds, args.connections, None, env)
        run_wrk(base, args.seconds, args.connections, SCORE_LUA, env)  # warm-up: page cache
        score = run_wrk(base, args.seconds, args.connections, SCORE_LUA, env)
        batch = run_wrk(base, args.seconds, 4, BATCH_LUA, env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    acknowledged = (batch["requests"] - batch["non_2xx"]) * args.batch
    inbox, warehouse = count_stored(settings, settings.data_dir, env)
    bare = bare_insert(settings, args.accounts, args.batch, args.seconds)
    per_second = round(acknowledged / args.seconds)
    return {
        "app_db": "postgresql" if args.database_url else "sqlite",
        "accounts": args.accounts,
        "workers": 2,
        "connections": args.connections,
        "seconds": args.seconds,
        "setup_seconds": setup_seconds,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "baseline_healthz": baseline,
        "score": score,
        "score_vs_baseline": round(score["rps"] / baseline["rps"], 3),
        "batch": {
            **batch,
            "batch_size": args.batch,
            "events_per_second_acknowledged": per_second,
            "acknowledged": acknowledged,
            "in_inbox": inbox,
            "in_warehouse": warehouse,
            "lost": max(acknowledged - warehouse, 0),
        },
        "bare_insert": bare,
        "batch_vs_bare_insert": round(per_second / bare["events_per_second"], 3),
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="tenure-bench-api-"))
    data_dir = args.keep or scratch / "data"
    settings = Settings(
        data_dir=data_dir,
        secret_key="bench-signing-key-" + "b" * 32,
        database_url=args.database_url,
    )
    try:
        print(json.dumps(measure(args, settings), indent=2))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
