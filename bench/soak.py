"""Soak `tenure serve` under steady tracking load with the pipeline, alerts and journeys ticking.

Usage: .venv/bin/python bench/soak.py [--minutes 10] [--rate 500] [--accounts 1000]
       [--lookups 20] [--batch 100] [--keep DIR] [--workers N] [--broker nats://…]
       [--setup-cache DIR]

One data dir (bench/soak_setup.py, cached between runs with --setup-cache): `tenure init`,
`simulate`, `import simulated`, `warehouse sync`, `model train`, the default templates and
journeys, `pipeline run` (today). Then, for --minutes, against a real `tenure serve --workers N`
(with --broker, tracking publishes to NATS JetStream and a `tenure consume` process stores it;
the soak waits for the consumer to drain): --rate Segment track events/s in `/v1/batch` calls
of --batch events (each scheduled on time, not after the previous answer), --lookups score lookups/s
(`GET /v1/accounts/{id}/score`), and beside them, one after another in a loop, `tenure pipeline
run` (today), `tenure alerts evaluate` and `tenure journeys tick`. Reported as JSON: the RSS of
the server and each worker (median of the first and last minute, growth), the peak RSS of each
periodic command (first and last run), p99 of score lookups per minute (last ÷ first), events
acknowledged, stored (inbox ∪ warehouse, by messageId) and lost, and every error (non-2xx,
transport error, failed command). `ok` is true when growth ≤ 10 %, p99 last ≤ 1.5 × first,
0 lost and 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from api import free_port
from soak_setup import TENURE, cached_book, credentials
from stream import broker_env, drop_stream
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope

SECRET = "soak-signing-key-" + "s" * 32
JOBS = (
    ("pipeline", "pipeline", "run"),
    ("alerts", "alerts", "evaluate"),
    ("journeys", "journeys", "tick"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=int, default=500, help="tracked events per second")
    parser.add_argument("--batch", type=int, default=100, help="events per /v1/batch call")
    parser.add_argument("--lookups", type=int, default=20, help="score lookups per second")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--keep", type=Path, default=None, help="data dir to keep (else temp)")
    parser.add_argument("--workers", type=int, default=1, help="`tenure serve --workers N`")
    parser.add_argument(
        "--broker", default=None, help="NATS URL: tracking publishes there, `tenure consume` stores"
    )
    parser.add_argument(
        "--setup-cache", type=Path, default=None, help="dir keeping the set-up book between runs"
    )
    return parser.parse_args(argv)


def rss_kb(pid: int) -> int | None:
    """Return a process's resident set size in KiB, or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), None)
    return int(line.split()[1]) if line else None


def family(pid: int) -> list[int]:
    """Return pid and all its descendants (from /proc's children lists)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue.extend(int(x) for x in task.read_text().split())
            except OSError:
                continue
    return found


class Recorder:
    """What the soak observed: RSS samples, lookup latencies, acknowledgements, errors, jobs."""

    def __init__(self, minutes: float) -> None:
        self.started, self.last_minute = time.monotonic(), max(int(-(-minutes // 1)) - 1, 0)
        self.rss: dict[int, list[tuple[float, int]]] = {}
        self.latency: dict[int, list[float]] = {}
        self.acknowledged: set[str] = set()
        self.errors: list[str] = []
        self.jobs: list[dict[str, Any]] = []
        self.stop = threading.Event()

    def minute(self) -> int:
        """Return the index of the current minute of the soak (a last partial one joins the one before)."""
        return min(int((time.monotonic() - self.started) // 60), self.last_minute)


def sample_rss(roots: list[int], record: Recorder) -> None:
    """Sample the RSS of the started processes and their children every 2 seconds."""
    while not record.stop.wait(2.0):
        now = time.monotonic() - record.started
        for pid in (pid for root in roots for pid in family(root)):
            kb = rss_kb(pid)
            if kb is not None:
                record.rss.setdefault(pid, []).append((now, kb))


def run_jobs(data_dir: Path, env: dict[str, str], record: Recorder) -> None:
    """Run the pipeline, alerts and journeys one after another until the soak ends."""
    while not record.stop.is_set():
        for name, *command in JOBS:
            started = time.monotonic()
            job = subprocess.Popen(
                [TENURE, "--data-dir", str(data_dir), *command],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            stderr = job.stderr.read() if job.stderr else b""
            _, status, usage = os.wait4(job.pid, 0)
            job.returncode = os.waitstatus_to_exitcode(status)
            record.jobs.append(
                {"job": name, "at": round(started - record.started, 1),
                 "seconds": round(time.monotonic() - started, 2), "rc": job.returncode,
                 "max_rss_kb": usage.ru_maxrss}
            )  # fmt: skip
            if job.returncode != 0:
                record.errors.append(f"{name} exited {job.returncode}: {stderr[-500:]!r}")


async def track(client: httpx.AsyncClient, args, key: str, externals, run: str, record) -> None:
    """Send --rate events/s in batches, each on its schedule; remember what was acknowledged."""
    sent, pending = 0, set()
    deadline = record.started + args.minutes * 60
    while time.monotonic() < deadline:
        ids = [f"{run}-{sent + i}" for i in range(args.batch)]
        batch = [
            {"type": "track", "event": "Feature Used", "messageId": m, "userId": f"u{n % 50}",
             "context": {"groupId": externals[(sent + n) % len(externals)]},
             "properties": {"feature": "export"}}
            for n, m in enumerate(ids)
        ]  # fmt: skip
        sent += args.batch
        task = asyncio.create_task(post_batch(client, key, batch, ids, record))
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(max(0.0, record.started + sent / args.rate - time.monotonic()))
    await asyncio.gather(*pending)


async def post_batch(client, key: str, batch: list[dict], ids: list[str], record) -> None:
    """Post one batch; acknowledged ids are those not listed as rejected in a 200 answer."""
    try:
        answer = await client.post("/v1/batch", json={"batch": batch}, auth=(key, ""), timeout=30)
    except httpx.HTTPError as exc:
        record.errors.append(f"batch: {type(exc).__name__}: {exc}")
        return
    if answer.status_code != 200:
        record.errors.append(f"batch: HTTP {answer.status_code}: {answer.text[:300]}")
        return
    rejected = {r["index"] for r in answer.json()["rejected"]}
    record.acknowledged.update(m for i, m in enumerate(ids) if i not in rejected)
    if rejected:
        record.errors.append(f"batch: {len(rejected)} rejected: {answer.json()['rejected'][0]}")


async def look_up(client: httpx.AsyncClient, args, token: str, ids: list[int], record) -> None:
    """Look up --lookups scores per second (one after another), timing each answer."""
    headers, done = {"Authorization": f"Bearer {token}"}, 0
    deadline = record.started + args.minutes * 60
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            answer = await client.get(f"/v1/accounts/{ids[done % len(ids)]}/score", headers=headers)
            if answer.status_code != 200:
                record.errors.append(f"score: HTTP {answer.status_code}: {answer.text[:200]}")
        except httpx.HTTPError as exc:
            record.errors.append(f"score: {type(exc).__name__}: {exc}")
        record.latency.setdefault(record.minute(), []).append(time.monotonic() - started)
        done += 1
        await asyncio.sleep(max(0.0, record.started + done / args.lookups - time.monotonic()))


async def load(url: str, args, keys: dict[str, Any], run: str, record: Recorder) -> None:
    """Run the tracking load and the score lookups side by side, each on its own client.

    Separate connection pools: a lookup never queues behind tracking calls waiting for a
    connection in the generator itself (one shared pool of 64 did, and the wait counted as
    lookup latency once the open-loop tracking calls backed up).
    """
    externals = [external for _, external in keys["accounts"]]
    ids = [account_id for account_id, _ in keys["accounts"]]
    limits = httpx.Limits(max_connections=64, keepalive_expiry=2.0)  # under uvicorn's 5 s
    async with (
        httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as tracker,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as reader,
    ):
        await asyncio.gather(
            track(tracker, args, keys["key"], externals, run, record),
            look_up(reader, args, keys["token"], ids, record),
        )


def stored(settings: Settings, run: str) -> set[str]:
    """Return the run's message ids in the inbox or the warehouse."""
    import duckdb

    from tenure.events.models import InboxEvent

    engine = get_engine(settings)
    with session_scope(engine) as session:
        ids = set(session.scalars(sa.select(InboxEvent.message_id).where(
            InboxEvent.message_id.like(run + "-%"))))  # fmt: skip
    engine.dispose()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    rows = con.execute("SELECT message_id FROM events WHERE message_id LIKE ?", [run + "-%"])
    ids.update(r[0] for r in rows.fetchall())
    con.close()
    return ids


def start_server(data_dir: Path, port: int, env: dict[str, str], workers: int) -> subprocess.Popen:
    """Start `tenure serve --workers N` and wait until /healthz answers (10 times in a row)."""
    log = (data_dir / "serve.log").open("ab")
    command = [TENURE, "--data-dir", str(data_dir), "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    deadline, answered = time.monotonic() + 300, 0
    while time.monotonic() < deadline and server.poll() is None:
        try:
            answered = (
                answered + 1
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
                else 0
            )
        except httpx.HTTPError:
            answered = 0
        if answered >= (1 if workers == 1 else 10):  # every worker is likely up
            return server
        time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not come up: " + (data_dir / "serve.log").read_text()[-2000:])


def start_consumer(data_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start `tenure consume` (the broker path's writer)."""
    log = (data_dir / "consume.log").open("ab")
    command = [TENURE, "--data-dir", str(data_dir), "consume"]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def drain(settings: Settings, run: str, record: Recorder, seconds: float = 300) -> float:
    """Wait until every acknowledged event is stored (the consumer's lag); return the wait."""
    started = time.monotonic()
    while time.monotonic() - started < seconds and record.acknowledged - stored(settings, run):
        time.sleep(1)
    return round(time.monotonic() - started, 1)


def p99(values: list[float]) -> float:
    """Return the 99th percentile in milliseconds."""
    return round(statistics.quantiles(values, n=100)[98] * 1000, 2) if len(values) > 1 else 0.0


def growth(samples: list[tuple[float, int]], end: float) -> dict[str, Any]:
    """Return the median RSS (MiB) of the first and last minute and the growth between them."""
    first = [kb for t, kb in samples if t < 60] or [samples[0][1]]
    last = [kb for t, kb in samples if t >= end - 60] or [samples[-1][1]]
    a, b = statistics.median(first), statistics.median(last)
    return {
        "first_mib": round(a / 1024, 1),
        "last_mib": round(b / 1024, 1),
        "growth": round(b / a - 1, 4),
    }


def summary(args, record: Recorder, names: dict[int, str], stored_ids: set[str]) -> dict[str, Any]:
    """Return the soak's figures and verdict (names: the started processes' pids)."""
    end = args.minutes * 60
    processes = {
        names.get(pid, f"child {pid}"): growth(samples, end)
        for pid, samples in record.rss.items()
        if samples and samples[0][0] < 60 and samples[-1][0] >= end - 60  # lived the whole soak
    }
    for name, *_ in JOBS:
        runs = [j["max_rss_kb"] for j in record.jobs if j["job"] == name and j["rc"] == 0]
        if runs:
            first, last = runs[0], runs[-1]
            processes[f"{name} (peak per run)"] = {
                "first_mib": round(first / 1024, 1), "last_mib": round(last / 1024, 1),
                "growth": round(last / first - 1, 4), "runs": len(runs),
            }  # fmt: skip
    minutes = sorted(record.latency)
    per_minute = [p99(record.latency[m]) for m in minutes]
    lost = record.acknowledged - stored_ids
    figures = {
        "rate": args.rate, "minutes": args.minutes, "accounts": args.accounts,
        "workers": args.workers, "broker": bool(args.broker),
        "rss": processes,
        "max_rss_growth": max((p["growth"] for p in processes.values()), default=0.0),
        "score_p99_ms_per_minute": per_minute,
        "score_lookups": sum(len(v) for v in record.latency.values()),
        "p99_last_over_first": round(per_minute[-1] / per_minute[0], 2) if per_minute else None,
        "acknowledged": len(record.acknowledged), "stored": len(stored_ids & record.acknowledged),
        "lost": len(lost), "errors": len(record.errors), "error_samples": record.errors[:5],
        "jobs": {n: sum(1 for j in record.jobs if j["job"] == n) for n, *_ in JOBS},
        "job_seconds_median": {
            n: statistics.median([j["seconds"] for j in record.jobs if j["job"] == n] or [0])
            for n, *_ in JOBS
        },
        "load_average_1m": round(os.getloadavg()[0], 2),
    }  # fmt: skip
    figures["ok"] = (
        figures["max_rss_growth"] <= 0.10
        and (figures["p99_last_over_first"] or 0) <= 1.5
        and figures["lost"] == 0
        and figures["errors"] == 0
    )
    return figures


def soak(args: argparse.Namespace, book: Path, setup: dict[str, Any]) -> dict[str, Any]:
    """Soak the set-up book and return the figures."""
    settings = Settings(data_dir=book, secret_key=SECRET)
    env = environment(book)
    stream = None
    if args.broker:
        env, stream = broker_env(env, args.broker, "request")
    keys = credentials(settings)
    port = free_port()
    server = start_server(book, port, env, args.workers)
    consumer = start_consumer(book, env) if args.broker else None
    names = {server.pid: "server"} | ({consumer.pid: "consumer"} if consumer else {})
    record, run = Recorder(args.minutes), "soak" + uuid.uuid4().hex[:8]
    threads = [
        threading.Thread(target=sample_rss, args=(list(names), record), daemon=True),
        threading.Thread(target=run_jobs, args=(book, env, record), daemon=True),
    ]
    try:
        for thread in threads:
            thread.start()
        asyncio.run(load(f"http://127.0.0.1:{port}", args, keys, run, record))
    finally:
        record.stop.set()
        for thread in threads:
            thread.join(timeout=600)
        waited = drain(settings, run, record) if consumer else 0.0
        for process in filter(None, (server, consumer)):
            process.terminate()
            process.wait(timeout=60)
        if stream:
            drop_stream(args.broker, stream)
    figures = summary(args, record, names, stored(settings, run))
    figures["setup_seconds"] = setup
    figures["consumer_drain_seconds"] = waited
    return figures


def environment(book: Path) -> dict[str, str]:
    """Return the environment of every tenure process of the soak."""
    return {**os.environ, "TENURE_SECRET_KEY": SECRET, "TENURE_DATA_DIR": str(book),
            "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the soak and print one JSON object."""
    args = parse_args(argv)
    scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="tenure-soak-"))
    data_dir = args.keep or scratch / "data"
    try:
        with cached_book(
            args.setup_cache, data_dir, args.accounts, args.months, environment(data_dir)
        ) as (book, setup):
            figures = soak(args, book, setup)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
