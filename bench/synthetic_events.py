"""The synthetic warehouse of bench/features.py: N deterministic events in one DuckDB query.

Written in a child process (its peak memory is its own) and, with a kept directory, reused by
later runs with the same size (a marker file records the events and accounts).
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from math import gcd
from pathlib import Path

from tenure.config import Settings
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

# Synthetic mode: the simulator's event names and mix plus two more, last day with events fixed.
SYNTH_AS_OF = date(2025, 6, 30)
SYNTH_DAYS = 120
SYNTH_NAMES = (
    ("login", 0.30), ("report_viewed", 0.24), ("api_call", 0.18), ("page_viewed", 0.12),
    ("feature_x_used", 0.075), ("export_run", 0.045), ("comment_added", 0.016),
    ("dashboard_created", 0.015), ("user_invited", 0.006), ("integration_connected", 0.003),
)  # fmt: skip
SYNTH_SKEW = 2.0  # account rank = accounts * u**SKEW: the top 1 % of accounts get 10 % of events
US_PER_DAY = 86_400_000_000


def uniform(key: str, stream: int) -> str:
    """Return SQL for a deterministic uniform [0, 1) draw per key (independent per stream < 8)."""
    return f"(hash({key} * 8 + {stream}) / 18446744073709551616.0)"


def golden_multiplier(accounts: int) -> int:
    """Return a multiplier near accounts / φ coprime with accounts (spreads ranks over ids)."""
    mult = max(1, round(accounts * 0.6180339887))
    while gcd(mult, accounts) != 1:
        mult += 1
    return mult


def name_case(u: str) -> str:
    """Return a SQL CASE picking an event name by cumulative weight from a uniform draw."""
    total, cum, whens = sum(w for _, w in SYNTH_NAMES), 0.0, []
    for name, weight in SYNTH_NAMES[:-1]:
        cum += weight / total
        whens.append(f"WHEN {u} < {cum!r} THEN '{name}'")
    return f"CASE {' '.join(whens)} ELSE '{SYNTH_NAMES[-1][0]}' END"


def synthetic_events_sql(n: int, accounts: int) -> str:
    """Return the INSERT filling `events` with n deterministic events over accounts, in ts order.

    Event i gets ts = start + i · span / n (so the table is in time order, as imports leave it),
    an account from a skewed rank (rank = accounts · u², spread over ids by a golden-ratio
    multiplier), accounts with id % 10 = 7 go quiet 30-89 days before the cutoff (their later
    events go to id - 1: ~10 % of accounts without events in the last 30 days), a name from
    SYNTH_NAMES, and one of the account's 2-6 contacts (NULL for api_call, as the simulator).
    """
    cutoff_us = (SYNTH_AS_OF + timedelta(days=1) - date(1970, 1, 1)).days * US_PER_DAY
    start_us, step = cutoff_us - SYNTH_DAYS * US_PER_DAY, SYNTH_DAYS * US_PER_DAY / n
    quiet_days = "CAST(hash(drawn_id * 8 + 5) % 60 AS BIGINT)"
    contacts = "CAST(2 + hash(account_id * 8 + 6) % 5 AS BIGINT)"
    return f"""
    INSERT INTO {EVENTS}
    WITH draw AS (
        SELECT i, {start_us} + CAST(i * {step!r} AS BIGINT) AS ts_us,
            CAST(floor({accounts} * pow({uniform("i", 1)}, {SYNTH_SKEW})) AS BIGINT) AS rank,
            {uniform("i", 2)} AS u_name, {uniform("i", 3)} AS u_contact
        FROM range({n}) r(i)),
    drawn AS (SELECT *, (rank * {golden_multiplier(accounts)}) % {accounts} + 1 AS drawn_id
              FROM draw),
    placed AS (
        SELECT *, {name_case("u_name")} AS name,
            CASE WHEN drawn_id % 10 = 7
                  AND ts_us >= {cutoff_us} - (30 + {quiet_days}) * {US_PER_DAY}
                 THEN drawn_id - 1 ELSE drawn_id END AS account_id
        FROM drawn)
    SELECT printf('evt_synth_%012x', i) AS message_id, CAST(account_id AS INTEGER) AS account_id,
        printf('acc_%07d', account_id) AS account_external_id,
        CASE WHEN name <> 'api_call' THEN printf('con_%08d',
            (account_id - 1) * 6 + 1 + CAST(floor(u_contact * {contacts}) AS BIGINT)) END
            AS contact_external_id,
        name, CAST(make_timestamp(ts_us) AS TIMESTAMPTZ) AS ts, CAST(NULL AS JSON) AS properties,
        'synthetic' AS source, CAST(make_timestamp({cutoff_us}) AS TIMESTAMPTZ) AS received_at,
        CAST(NULL AS INTEGER) AS import_run_id
    FROM placed
    """


def fill_synthetic(data_dir: str, n: int, accounts: int) -> dict:
    """Create the warehouse the product's way and fill `events` (runs in a child process)."""
    start = time.perf_counter()
    with open_warehouse(Settings(data_dir=Path(data_dir))) as warehouse:
        warehouse.con.execute(synthetic_events_sql(n, accounts))
    return {"seconds": time.perf_counter() - start}


def prepare_synthetic(root: Path, n: int, accounts: int) -> tuple[Settings, dict]:
    """Fill root/data with synthetic events in a child process; return settings and its stats."""
    data = root / "data"
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        stats = pool.submit(fill_synthetic, str(data), n, accounts).result()
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    warehouse_file = Settings(data_dir=data).warehouse_path
    return Settings(data_dir=data), {
        "generation_s": round(stats["seconds"], 1),
        "generation_child_peak_rss_mb": round(child_peak / 1024, 1),
        "warehouse_file_mb": round(warehouse_file.stat().st_size / 2**20, 1),
    }


def reuse_or_fill(root: Path, n: int, accounts: int) -> tuple[Settings, dict]:
    """Return a kept synthetic warehouse under root when it holds n events, else fill it."""
    settings = Settings(data_dir=root / "data")
    marker = root / "synthetic.json"
    if marker.exists() and json.loads(marker.read_text()) == {"events": n, "accounts": accounts}:
        size = settings.warehouse_path.stat().st_size / 2**20
        return settings, {"generation_s": None, "warehouse_file_mb": round(size, 1)}
    settings, data = prepare_synthetic(root, n, accounts)
    marker.write_text(json.dumps({"events": n, "accounts": accounts}))
    return settings, data
