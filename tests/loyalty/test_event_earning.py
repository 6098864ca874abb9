"""Window earning (DuckDB + cool-down chains) against a plain event-by-event reference."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from tenure.db.session import session_scope
from tenure.loyalty.bulk_posting import post_earning_table
from tenure.loyalty.event_earning import window_earnings
from tenure.loyalty.program import parse_program
from tenure.warehouse.catalog import EVENTS, EVENTS_DDL

from ..factories import add_account

RULES = [
    {"key": "weekly", "event": "login", "points": 10, "cooldown_days": 7},
    {"key": "daily_capped", "event": "login", "points": 1, "cooldown_days": 1, "max_per_month": 3},
    {"key": "capped", "event": "report", "points": 2, "max_per_month": 4, "max_per_account": 9},
    {"key": "first", "event": "report", "points": 50, "first_time_only": True},
    {"key": "slow", "event": "invite", "points": 5, "cooldown_days": 10, "max_per_account": 3},
    {"key": "free", "event": "export", "points": 1},
]
PROGRAM = {"name": "t", "point_value_minor": 1, "approval_threshold": 1000,
           "holdout_fraction": 0.0, "rules": RULES,
           "tiers": [{"key": "m", "name": "M", "qualifying_points": 0}]}  # fmt: skip
START = datetime(2025, 1, 20, tzinfo=UTC)


def reference(events: list[tuple[str, int, str, datetime]]) -> set[str]:
    """Return the source keys a greedy, one-event-at-a-time reading earns."""
    rules = parse_program(PROGRAM, "t").rules
    state: dict[tuple[int, str], dict] = defaultdict(lambda: {"n": 0, "last": None, "m": {}})
    keys = set()
    for message_id, account, name, ts in sorted(events, key=lambda e: (e[3], e[0])):
        for rule in (r for r in rules if r.event == name):
            s, month = state[account, rule.key], (ts.year, ts.month)
            if rule.lifetime_cap is not None and s["n"] >= rule.lifetime_cap:
                continue
            if rule.max_per_month is not None and s["m"].get(month, 0) >= rule.max_per_month:
                continue
            if s["last"] is not None and ts < s["last"] + timedelta(days=rule.cooldown_days):
                continue
            s["n"], s["last"], s["m"][month] = s["n"] + 1, ts, s["m"].get(month, 0) + 1
            keys.add(f"event:{message_id}:{rule.key}")
    return keys


def random_events(seed: int, accounts: list[int]) -> list[tuple[str, int, str, datetime]]:
    """Return a random mix of events (some at the same instant) over about 70 days."""
    rng = random.Random(seed)
    names = ["login", "login", "report", "invite", "export", "noise"]
    events = []
    for i in range(600):
        ts = START + timedelta(minutes=rng.randrange(70 * 24 * 60))
        if i and rng.random() < 0.05:
            ts = events[-1][3]  # a tie on time: the smaller message id goes first
        events.append((f"m{i:04d}", rng.choice(accounts), rng.choice(names), ts))
    return events


def _warehouse(events) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(EVENTS_DDL)
    for message_id, account, name, ts in events:
        con.execute(
            f"INSERT INTO {EVENTS} VALUES (?, ?, 'x', NULL, ?, ?, NULL, 't', ?, NULL)",
            [message_id, account, name, ts, ts],
        )
    return con


@pytest.mark.parametrize("seed", [1, 2])
def test_two_windows_earn_what_the_reference_earns(any_engine, frozen_clock, seed):
    engine = any_engine
    with session_scope(engine) as session:
        accounts = [add_account(session).id for _ in range(4)]
    events = random_events(seed, accounts)
    con, program = _warehouse(events), parse_program(PROGRAM, "t")
    windows = [(date(2025, 1, 20), date(2025, 2, 14)), (date(2025, 2, 15), date(2025, 4, 1))]
    posted: list[str] = []
    for first, last in windows:  # the second window starts mid-month from the ledger's state
        with session_scope(engine) as session:
            table = window_earnings(con, session, program, accounts, first, last)
            assert post_earning_table(session, table, 12, "pipeline") == table.num_rows
            posted += table["source_key"].to_pylist()
    assert len(posted) == len(set(posted))
    assert set(posted) == reference(events)
    with session_scope(engine) as session:  # a replay of both windows posts nothing
        again = window_earnings(con, session, program, accounts, *windows[0])
        assert post_earning_table(session, again, 12, "pipeline") == 0


def test_non_members_and_empty_windows_earn_nothing(engine, frozen_clock):
    with session_scope(engine) as session:
        account = add_account(session).id
    con = _warehouse([("m1", account, "export", START)])
    program = parse_program(PROGRAM, "t")
    with session_scope(engine) as session:
        assert (
            window_earnings(con, session, program, [account + 1], START.date(), START.date())[
                "source_key"
            ].to_pylist()
            == []
        )
        found = window_earnings(con, session, program, [account], START.date(), START.date())
    assert found.select(["source_key", "points"]).to_pylist() == [
        {"source_key": "event:m1:free", "points": 1}
    ]


def test_successor_search_agrees_on_both_packings():
    import numpy as np

    from tenure.loyalty.cooldown import CoolEvents, first_at_or_after

    rng = np.random.default_rng(3)
    group = np.sort(rng.integers(0, 50, 400))
    ts = np.concatenate([np.sort(rng.integers(0, 10**12, (group == g).sum())) for g in range(50)])
    due = ts + rng.integers(0, 10**11, len(ts))
    zeros = np.zeros(len(ts), dtype=np.int64)
    small = first_at_or_after(CoolEvents(group, ts, zeros, zeros, zeros), group, due)
    huge = group + 2**40  # (group + 1) × span overflows: the rank packing
    ranked = first_at_or_after(CoolEvents(huge, ts, zeros, zeros, zeros), huge, due)
    expected = [
        next((j for j in range(len(ts)) if group[j] == group[i] and ts[j] >= due[i]), -1)
        for i in range(len(ts))
    ]
    assert small.tolist() == ranked.tolist() == expected


def test_pairs_under_their_caps_keep_every_event_and_full_months_rank(engine, frozen_clock):
    with session_scope(engine) as session:
        sparse, busy = add_account(session).id, add_account(session).id
    events = [(f"s{i}", sparse, "report", START + timedelta(days=3 * i)) for i in range(3)]
    events += [(f"b{i:02d}", busy, "report", START + timedelta(hours=i)) for i in range(12)]
    con, program = _warehouse(events), parse_program(PROGRAM, "t")
    with session_scope(engine) as session:
        found = window_earnings(
            con, session, program, [sparse, busy], START.date(), date(2025, 3, 1)
        )
    keys = set(found["source_key"].to_pylist())
    assert {f"event:s{i}:capped" for i in range(3)} <= keys  # under the caps: all earn
    assert keys == reference(events)


def test_chain_order_sorts_by_pair_time_then_message_id_on_both_paths():
    import numpy as np
    import pyarrow as pa

    from tenure.loyalty.cooldown import chain_order

    rng = np.random.default_rng(5)
    pair = rng.integers(0, 6, 300)
    ts = rng.integers(0, 40, 300) * 1_000_000  # many ties on (pair, ts)
    ids = pa.array([f"m{v:04d}" for v in rng.permutation(300)])
    expected = sorted(range(300), key=lambda i: (pair[i], ts[i], ids[i].as_py()))
    assert chain_order(pair, ts, ids).tolist() == expected
    wide = pair + 2**50  # (pair + 1) × span overflows: the lexsort path
    assert chain_order(wide, ts, ids).tolist() == expected
