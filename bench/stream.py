"""Benchmark tracking through NATS JetStream against the embedded inbox path, as JSON.

Usage: .venv/bin/python bench/stream.py [--accounts 20000] [--seconds 10] [--connections 4]
       [--batch 500] [--packings request,event] [--nats nats://127.0.0.1:4222]

In one run, one data dir (bench/api.py's set-up: N accounts with scores, a write key), the same
wrk load (bench/api.py's `/v1/batch` script: --batch track calls per request, unique messageIds)
against `tenure serve --workers 2`:
- embedded: no broker; the API stores each batch in the app-DB inbox before answering;
- broker (per packing): TENURE_EVENT_BROKER_URL set (a throwaway stream), one `tenure consume`
  running beside the API during the load. Reported: events/s acknowledged (HTTP 200 × batch),
  the ratio to the embedded path, and the consumer: events stored during the load, the seconds
  it took after the load to drain the backlog, its rate over the whole run, and lost =
  acknowledged − stored (must be 0).
Needs `wrk` (Debian package `wrk`) and a NATS server with JetStream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from api import BATCH_LUA, TENURE, _environment, free_port, prepare, run_wrk
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.events.models import InboxEvent


def parse_args() -> argparse.Namespace:
    """Read the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--packings", default="request,event")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--keep", type=Path, default=None, help="data dir to keep (else temp)")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="instead: profile N in-process batches (pyinstrument)",
    )
    args = parser.parse_args()
    args.database_url = None  # bench/api.py's _environment reads it
    return args


def stored(engine: sa.Engine, run: str) -> int:
    """Return how many inbox rows one load run (its messageId tag) stored."""
    with session_scope(engine) as session:
        query = sa.select(sa.func.count()).where(InboxEvent.message_id.like(run + "%"))
        return session.scalar(query.select_from(InboxEvent))


def broker_env(env: dict[str, str], nats: str, packing: str) -> tuple[dict[str, str], str]:
    """Return the environment of a broker run on a fresh stream, and the stream's name."""
    tag = uuid.uuid4().hex[:8]
    stream = f"BENCH_{tag}"
    return {
        **env,
        "TENURE_EVENT_BROKER_URL": nats,
        "TENURE_EVENT_BROKER_STREAM": stream,
        "TENURE_EVENT_BROKER_SUBJECT": f"tenure.bench.{tag}",
        "TENURE_EVENT_BROKER_CONSUMER": f"bench-{tag}",
        "TENURE_EVENT_BROKER_PACKING": packing,
    }, stream


def drop_stream(nats_url: str, stream: str) -> None:
    """Delete a bench stream."""
    import nats

    async def drop() -> None:
        nc = await nats.connect(nats_url)
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(drop())


def start_server(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    """Start `tenure serve --workers 2`; wait (up to 10 minutes on a busy machine) for both."""
    command = [TENURE, "--data-dir", str(data_dir), "serve", "--port", str(port), "--workers", "2"]
    log = (data_dir / "serve.log").open("ab")
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline, answered = time.monotonic() + 600, 0
    while time.monotonic() < deadline and server.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).raise_for_status()
            answered += 1
            if answered >= 20:  # several answers in a row: both workers are likely up
                return server
        except httpx.HTTPError:
            answered = 0
        time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not come up: " + (data_dir / "serve.log").read_text()[-2000:])


def load(args: argparse.Namespace, settings: Settings, env: dict[str, str]) -> dict[str, Any]:
    """Serve with 2 workers, run wrk's batch load, stop the server; return wrk's figures."""
    port = free_port()
    server = start_server(settings.data_dir, port, env)
    try:
        started = time.perf_counter()
        result = run_wrk(f"http://127.0.0.1:{port}", args.seconds, args.connections, BATCH_LUA, env)
        result["wrk_started"] = started
    finally:
        server.terminate()
        server.wait(timeout=60)
    acknowledged = (result["requests"] - result["non_2xx"]) * args.batch
    result["acknowledged"] = acknowledged
    result["events_per_second_acknowledged"] = round(acknowledged / args.seconds)
    return result


def embedded_run(args, settings, env, engine) -> dict[str, Any]:
    """Load the embedded path; count what the inbox holds."""
    env = {**env, "BENCH_RUN": f"e{int(time.time())}"}
    result = load(args, settings, env)
    result.pop("wrk_started")
    result["stored"] = stored(engine, env["BENCH_RUN"])
    result["lost"] = max(result["acknowledged"] - result["stored"], 0)
    return result


def broker_run(args, settings, env, engine, packing: str) -> dict[str, Any]:
    """Load the broker path with one consumer beside it; time the consumer's drain."""
    env, stream = broker_env(env, args.nats, packing)
    run = env["BENCH_RUN"] = f"{packing[0]}{int(time.time())}"
    log = (settings.data_dir / "consume.log").open("ab")
    command = [TENURE, "--data-dir", str(settings.data_dir), "consume", "--no-realtime"]
    consumer = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        result = load(args, settings, env)
        started = result.pop("wrk_started")
        loaded, during = time.perf_counter(), stored(engine, run)
        while stored(engine, run) < result["acknowledged"] and time.perf_counter() - loaded < 600:
            time.sleep(0.2)
        drained = time.perf_counter()
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(timeout=60)
        drop_stream(args.nats, stream)
    result["stored"] = stored(engine, run)
    result["lost"] = max(result["acknowledged"] - result["stored"], 0)
    result["consumer"] = {
        "stored_during_load": during,
        "drain_seconds_after_load": round(drained - loaded, 2),
        "events_per_second": round(result["stored"] / (drained - started)),  # from load start
    }
    return result


def measure(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Run the embedded and broker loads in one data dir; return the figures."""
    env = _environment(args, settings, prepare(settings, args.accounts))
    engine = get_engine(settings)
    figures: dict[str, Any] = {
        "accounts": args.accounts,
        "workers": 2,
        "consumers": 1,
        "connections": args.connections,
        "batch_size": args.batch,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "embedded": embedded_run(args, settings, env, engine),
    }
    base = figures["embedded"]["events_per_second_acknowledged"] or 1
    for packing in args.packings.split(","):
        run = broker_run(args, settings, env, engine, packing)
        run["vs_embedded"] = round(run["events_per_second_acknowledged"] / base, 2)
        figures[f"broker_{packing}"] = run
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    engine.dispose()
    return figures


def profile(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Profile what a worker does per batch in broker mode (parse, validate, pack, publish)."""
    from pyinstrument import Profiler

    from tenure.api.segment import SegmentBatch, read_messages
    from tenure.events.broker import EventPublisher

    env, stream = broker_env({}, args.nats, args.packings.split(",")[0])
    overrides = {k.removeprefix("TENURE_").lower(): v for k, v in env.items()}
    publisher = EventPublisher(settings.model_copy(update=overrides))
    message = {"type": "track", "event": "Feature Used", "context": {"groupId": "A1"}}
    bodies = [
        json.dumps(
            {
                "batch": [
                    {**message, "userId": f"u{i}", "messageId": f"p{n}-{i}"}
                    for i in range(args.batch)
                ]
            }
        ).encode()
        for n in range(args.profile)
    ]

    async def handle_all() -> float:
        await publisher.jetstream()  # connected before the clock starts
        started = time.process_time()
        for body in bodies:
            batch = SegmentBatch.model_validate(json.loads(body))
            intake = read_messages(batch.batch, shared=batch.context)
            await publisher.publish(publisher.messages(intake.events, intake.event_links))
        spent = time.process_time() - started
        await publisher.close()
        return spent

    profiler = Profiler(interval=0.0005)
    with profiler:
        cpu = asyncio.run(handle_all())
    drop_stream(args.nats, stream)
    print(profiler.output_text(unicode=False, color=False), file=sys.stderr)
    events = args.profile * args.batch
    return {
        "packing": overrides["event_broker_packing"],
        "batches": args.profile,
        "cpu_microseconds_per_event": round(cpu / events * 1e6, 1),
        "events_per_cpu_second": round(events / cpu),
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    args = parse_args()
    if args.profile:
        with tempfile.TemporaryDirectory() as scratch:
            settings = Settings(data_dir=Path(scratch), secret_key="bench-key-" + "b" * 32)
            print(json.dumps(profile(args, settings), indent=2))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="tenure-bench-stream-"))
    data_dir = args.keep or scratch / "data"
    settings = Settings(data_dir=data_dir, secret_key="bench-signing-key-" + "b" * 32)
    try:
        print(json.dumps(measure(args, settings), indent=2))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
