"""Benchmark ingestion against bare DuckDB/SQLAlchemy loads of the same files, in one run.

Prints one JSON object. Ratios, not absolute times, are the figures to compare: the
machines are noisy, so each target is measured against a baseline taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from ingest_pg import (
    bare_copy_subscriptions,
    dump_landed_subscriptions,
    postgres_schema_url,
    upsert_landed,
)

TENURE = str(Path(sys.executable).parent / "tenure")


def write_accounts(folder: Path, accounts: int) -> Path:
    """Write an accounts CSV with `accounts` rows."""
    path = folder / "accounts.csv"
    duckdb.sql(
        f"COPY (SELECT 'A' || i AS account_id, 'Account ' || i AS name,"
        f" TIMESTAMPTZ '2023-01-01' AS created_at, 'software' AS industry, 'EU' AS region"
        f" FROM range({accounts}) t(i)) TO '{path}' (HEADER)"
    )
    return path


def write_events(folder: Path, rows: int, accounts: int) -> Path:
    """Write an events CSV with `rows` rows spread over `accounts` accounts."""
    path = folder / "events.csv"
    duckdb.sql(
        f"COPY (SELECT 'm' || i AS message_id, 'A' || (i % {accounts}) AS account_id,"
        f" 'c' || (i % 50000) AS contact_id, (['login','report_viewed','export_run',"
        f" 'api_call'])[1 + i % 4] AS event,"
        f" strftime(TIMESTAMPTZ '2025-01-01' + to_seconds(i % 15000000), '%Y-%m-%dT%H:%M:%SZ')"
        f" AS timestamp, '{{\"n\":' || (i % 7) || '}}' AS properties"
        f" FROM range({rows}) t(i)) TO '{path}' (HEADER)"
    )
    return path


def write_contacts(folder: Path, contacts: int, accounts: int) -> Path:
    """Write a contacts CSV: contact c<k> works at account A<k mod accounts>."""
    path = folder / "contacts.csv"
    duckdb.sql(
        f"COPY (SELECT 'c' || k AS contact_id, 'A' || (k % {accounts}) AS account_id,"
        f" 'user' || k || '@example.com' AS email FROM range({contacts}) t(k)) TO '{path}' (HEADER)"
    )
    return path


def write_keyed(events: Path, folder: Path, key: str) -> Path:
    """Write the same events keyed only by key (account_id or contact_id), the other dropped."""
    other = "contact_id" if key == "account_id" else "account_id"
    path = folder / f"events-by-{key}.csv"
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE ({other}) FROM read_csv('{events}', all_varchar = true))"
        f" TO '{path}' (HEADER)"
    )
    return path


def timed_import_with_contacts(folder: Path, events: Path, setup: list[Path], name: str) -> float:
    """Time `tenure import events` into a fresh data dir holding the setup files' rows."""
    data = folder / f"data-{name}"
    env = {**os.environ, "TENURE_DATA_DIR": str(data)}
    env.pop("TENURE_DATABASE_URL", None)
    for kind, path in zip(("accounts", "contacts"), setup, strict=True):
        subprocess.run(
            [TENURE, "import", kind, str(path)], env=env, check=True, stdout=subprocess.DEVNULL
        )
    seconds, _peak, code = timed_child([TENURE, "import", "events", str(events)], env)
    if code != 0:
        raise SystemExit(f"tenure import events ({name}) exited {code}")
    shutil.rmtree(data)
    return seconds


def bench_contact_keyed(folder: Path, rows: int, accounts: int, repeat: int) -> dict:
    """Compare events resolved through contacts with the account-keyed import of the same rows.

    Both files hold the same events and columns but the key: `account_id` in one, `contact_id`
    (one of 50,000 contacts) in the other; both data dirs hold the same accounts and contacts.
    """
    setup = [write_accounts(folder, accounts), write_contacts(folder, 50_000, accounts)]
    events = write_events(folder, rows, accounts)
    by_account = write_keyed(events, folder, "account_id")
    by_contact = write_keyed(events, folder, "contact_id")
    account_runs, contact_runs = [], []
    for attempt in range(repeat):  # interleaved, so both see the same machine load
        account_runs.append(timed_import_with_contacts(folder, by_account, setup, f"a{attempt}"))
        contact_runs.append(timed_import_with_contacts(folder, by_contact, setup, f"c{attempt}"))
    account, contact = min(account_runs), min(contact_runs)
    return {
        "repeat": repeat,
        "rows": rows,
        "contacts": 50_000,
        "account_keyed_seconds": round(account, 2),
        "contact_keyed_seconds": round(contact, 2),
        "ratio_contact_vs_account": round(contact / account, 3),
        "target_ratio": 1.2,
    }


def write_subscriptions(folder: Path, rows: int, accounts: int) -> Path:
    """Write a subscriptions CSV with `rows` rows."""
    path = folder / "subscriptions.csv"
    duckdb.sql(
        f"COPY (SELECT 'S' || i AS subscription_id, 'A' || (i % {accounts}) AS account_id,"
        f" 'pro' AS plan, round(10 + (i % 990) * 1.5, 2) AS mrr, 'USD' AS currency,"
        f" 1 + i % 20 AS quantity, 'month' AS billing_interval,"
        f" TIMESTAMPTZ '2024-01-01' + to_days(i % 300) AS started_at, NULL AS ended_at"
        f" FROM range({rows}) t(i)) TO '{path}' (HEADER)"
    )
    return path


def timed_child(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run a command; return (seconds, peak RSS in MB of any child so far, exit code)."""
    start = time.perf_counter()
    code = subprocess.run(args, env=env, check=False, stdout=subprocess.DEVNULL).returncode
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kb / 1024, code


def bare_read_csv(path: Path, folder: Path) -> float:
    """Time a bare DuckDB read_csv of the file into a fresh database file, until durable."""
    target = folder / "bare.duckdb"
    target.unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(target))
    con.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{path}')")
    con.close()  # the checkpoint that makes the table durable belongs to the load
    return time.perf_counter() - start


def tenure_import_events(folder: Path, events: Path, accounts: Path, attempt: int) -> tuple:
    """Time `tenure import events` into a fresh data dir that has the accounts."""
    env = {**os.environ, "TENURE_DATA_DIR": str(folder / f"events-data-{attempt}")}
    env.pop("TENURE_DATABASE_URL", None)
    subprocess.run(
        [TENURE, "import", "accounts", str(accounts)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds, peak_mb, code = timed_child([TENURE, "import", "events", str(events)], env)
    if code != 0:
        raise SystemExit(f"tenure import events exited {code}")
    shutil.rmtree(folder / f"events-data-{attempt}")
    return seconds, peak_mb


def bench_events(folder: Path, rows: int, accounts: int, repeat: int) -> dict:
    """Compare `tenure import events` with a bare read_csv of the same file (best of repeat)."""
    account_file = write_accounts(folder, accounts)
    events = write_events(folder, rows, accounts)
    bares, runs = [], []
    for attempt in range(repeat):  # interleaved, so both see the same machine load
        bares.append(bare_read_csv(events, folder))
        runs.append(tenure_import_events(folder, events, account_file, attempt))
    bare = min(bares)
    seconds, peak_mb = min(r[0] for r in runs), max(r[1] for r in runs)
    return {
        "repeat": repeat,
        "rows": rows,
        "bare_read_csv_seconds": round(bare, 2),
        "bare_rows_per_second": round(rows / bare),
        "tenure_import_seconds": round(seconds, 2),
        "tenure_rows_per_second": round(rows / seconds),
        "ratio_vs_bare": round(bare / seconds, 3),
        "target_ratio": 0.5,
        "peak_rss_mb": round(peak_mb),
        "target_peak_rss_mb": 2048,
    }


def bench_subscriptions(folder: Path, rows: int, accounts: int, database_url: str | None) -> dict:
    """Time `tenure import subscriptions` of `rows` rows into SQLite or PostgreSQL."""
    name = "postgres" if database_url else "sqlite"
    data = folder / f"subs-{name}"
    env = {**os.environ, "TENURE_DATA_DIR": str(data)}
    env.pop("TENURE_DATABASE_URL", None)
    if database_url:
        env["TENURE_DATABASE_URL"] = database_url
    subprocess.run(
        [TENURE, "import", "accounts", str(folder / "accounts.csv")],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    path = folder / "subscriptions.csv"
    seconds, peak_mb, code = timed_child([TENURE, "import", "subscriptions", str(path)], env)
    if code != 0:
        raise SystemExit(f"tenure import subscriptions ({name}) exited {code}")
    return {
        "backend": name,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": round(peak_mb),
    }


def postgres_subscriptions(folder: Path, args: argparse.Namespace, url: str) -> dict:
    """Time the COPY-based import against a bare COPY and the previous executemany path.

    The bare COPY is the faster of two hand-written loads of the same rows into an empty table
    with the same indexes (COPY into the indexes, or COPY then build them); neither checks the
    foreign key, which the import does.
    """
    result = bench_subscriptions(folder, args.subscriptions, args.accounts, url)
    landed = dump_landed_subscriptions(folder, url)
    bare_indexed = bare_copy_subscriptions(landed, url, index_after=False)
    bare_then_index = bare_copy_subscriptions(landed, url, index_after=True)
    bare = min(bare_indexed, bare_then_index)
    previous = upsert_landed(landed, url, copy=False)
    copied = upsert_landed(landed, url, copy=True)
    again = upsert_landed(landed, url, copy=True, empty=False)
    result.update(
        load_step_copy_seconds=round(copied, 2),
        load_step_executemany_seconds=round(previous, 2),
        load_step_speedup=round(previous / copied, 2),
        load_step_copy_unchanged_reimport_seconds=round(again, 2),
        bare_copy_seconds=round(bare, 2),
        bare_copy_into_indexes_seconds=round(bare_indexed, 2),
        bare_copy_then_index_seconds=round(bare_then_index, 2),
        load_step_ratio_vs_bare_copy=round(bare / copied, 3),
        target_speedup=3.0,
    )
    return result


def bench_all_subscriptions(folder: Path, args: argparse.Namespace) -> list[dict]:
    """Import the subscriptions into SQLite and (unless skipped) PostgreSQL."""
    write_subscriptions(folder, args.subscriptions, args.accounts)
    out = [bench_subscriptions(folder, args.subscriptions, args.accounts, None)]
    if not args.skip_postgres:
        url, drop = postgres_schema_url()
        try:
            out.append(postgres_subscriptions(folder, args, url))
        finally:
            drop()
    return out


def main() -> None:
    """Run the ingestion benchmarks and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2, help="best of N for the events bench")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--contact-keyed-only",
        action="store_true",
        help="only compare contact-keyed with account-keyed events (issue 27)",
    )
    parser.add_argument(
        "--subscriptions-only", action="store_true", help="only the subscriptions upserts"
    )
    parser.add_argument(
        "--events-only", action="store_true", help="only compare events with a bare read_csv"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tenure-bench-") as tmp:
        folder = Path(tmp)
        if args.contact_keyed_only:
            out = {
                "contact_keyed": bench_contact_keyed(
                    folder, args.events, args.accounts, args.repeat
                )
            }
            print(json.dumps(out, indent=2))
            return
        if args.subscriptions_only:
            write_accounts(folder, args.accounts)
            print(json.dumps({"subscriptions": bench_all_subscriptions(folder, args)}, indent=2))
            return
        out = {"events": bench_events(folder, args.events, args.accounts, args.repeat)}
        if args.events_only:
            print(json.dumps(out, indent=2))
            return
        out["contact_keyed"] = bench_contact_keyed(folder, args.events, args.accounts, args.repeat)
        out["subscriptions"] = bench_all_subscriptions(folder, args)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
