"""Churn by inactivity: population and labels against a brute-force day-by-day computation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from tenure.churn.features import as_of_table
from tenure.churn.inactivity import (
    ChurnDefinition,
    definition_labels,
    inactivity_churn_events,
    inactivity_population,
    with_rule,
)

START = date(2025, 1, 1)
N_DAYS = 200
SUB_SCHEMA = {
    "account_id": "int64",
    "mrr": "int64",
    "started_at": "timestamp",
    "ended_at": "timestamp",
}


def random_events(seed: int, accounts: int = 25) -> pd.DataFrame:
    """Return account_id, ts: bursts of use with random gaps, some longer than 30 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for account in range(1, accounts + 1):
        day = int(rng.integers(0, 40))
        while day < N_DAYS:
            for _ in range(int(rng.integers(1, 4))):
                seconds = int(rng.integers(0, 86_400))
                rows.append(
                    (
                        account,
                        datetime.combine(START, datetime.min.time())
                        + timedelta(days=day, seconds=seconds),
                    )
                )
            day += int(rng.choice([1, 2, 5, 12, 29, 30, 31, 45, 80]))
    return pd.DataFrame(rows, columns=["account_id", "ts"])


def brute_force(events: pd.DataFrame, as_ofs: list[date], n: int, horizon: int) -> pd.DataFrame:
    """Return as_of, account_id, churned for active accounts by walking every day."""
    days = {(a, ts.date()) for a, ts in zip(events.account_id, events.ts, strict=True)}

    def active(account: int, day: date) -> bool:
        return any((account, day - timedelta(days=k)) in days for k in range(n))

    rows = []
    for account in sorted(events.account_id.unique()):
        for as_of in as_ofs:
            if not active(account, as_of):
                continue
            window = [as_of + timedelta(days=k) for k in range(1, horizon + 1)]
            churned = any(
                active(account, d - timedelta(days=1)) and not active(account, d) for d in window
            )
            rows.append((as_of, int(account), int(churned)))
    frame = pd.DataFrame(rows, columns=["as_of", "account_id", "churned"])
    return frame.sort_values(["as_of", "account_id"]).reset_index(drop=True)


def no_subscriptions() -> ibis.Table:
    return ibis.memtable(pd.DataFrame(columns=list(SUB_SCHEMA)), schema=SUB_SCHEMA)


@pytest.mark.parametrize(("seed", "n", "horizon"), [(1, 30, 30), (2, 30, 90), (3, 14, 30)])
def test_inactivity_labels_equal_brute_force(seed: int, n: int, horizon: int) -> None:
    events = random_events(seed)
    as_ofs = [START + timedelta(days=d) for d in range(20, N_DAYS - horizon, 9)]
    expected = brute_force(events, as_ofs, n, horizon)
    definition = ChurnDefinition(kind="inactivity", inactivity_days=n)
    con = ibis.duckdb.connect()
    ev, subs = ibis.memtable(events), no_subscriptions()
    keys = inactivity_population(ev, subs, as_of_table(as_ofs), definition)
    labels = con.execute(definition_labels(keys, subs, ev, horizon, definition))
    labels["as_of"] = pd.to_datetime(labels["as_of"]).dt.date
    got = labels.sort_values(["as_of", "account_id"]).reset_index(drop=True)
    assert len(got) == len(expected) > 100
    assert expected.churned.sum() > 10
    pd.testing.assert_frame_equal(
        got.astype({"churned": "int64", "account_id": "int64"}), expected, check_dtype=False
    )


def test_churn_moment_is_first_day_of_a_long_gap() -> None:
    base = datetime(2025, 3, 1, 15)
    events = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 1],
            "ts": [
                base,
                base + timedelta(days=30),
                base + timedelta(days=61, hours=-14),
                base + timedelta(days=100),
            ],
        }
    )
    con = ibis.duckdb.connect()
    got = con.execute(inactivity_churn_events(ibis.memtable(events), 30)).sort_values("churned_at")
    # day gaps 30 (kept: active on every day), 31 and 39 (churns 30 days after the last use)
    assert list(got.churned_at) == [
        pd.Timestamp("2025-04-30"),
        pd.Timestamp("2025-05-31"),
        pd.Timestamp("2025-07-09"),
    ]


def test_auto_picks_the_rule_per_account() -> None:
    """Account 1 pays (subscription rules), account 2 never had a subscription (inactivity)."""
    day0 = datetime(2025, 1, 1)
    events = pd.DataFrame(
        {
            "account_id": [1, 1, 2],
            "ts": [day0, day0 + timedelta(days=40), day0 + timedelta(days=40)],
        }
    )
    subs = pd.DataFrame(
        {
            "account_id": [1],
            "mrr": [5000],
            "started_at": [day0],
            "ended_at": [day0 + timedelta(days=200)],
        }
    )
    con = ibis.duckdb.connect()
    ev, sb = ibis.memtable(events), ibis.memtable(subs, schema=SUB_SCHEMA)
    keys = ibis.memtable({"as_of": [date(2025, 2, 15)] * 2, "account_id": [1, 2]})
    auto = ChurnDefinition()
    rules = con.execute(with_rule(keys, sb, auto)).sort_values("account_id")
    assert list(rules.rule) == ["subscription", "inactivity"]
    labels = con.execute(definition_labels(keys, sb, ev, 30, auto)).sort_values("account_id")
    # Both stop using the product on 2025-02-10: only the unbilled account churns by 2025-03-17
    assert list(labels.churned) == [0, 1]
    strict = con.execute(definition_labels(keys, sb, ev, 30, ChurnDefinition(kind="inactivity")))
    assert sorted(strict.churned) == [1, 1]
    billed = con.execute(definition_labels(keys, sb, ev, 30, ChurnDefinition(kind="subscription")))
    assert sorted(billed.churned) == [0, 0]
    grid = as_of_table([date(2025, 2, 15)])
    population = con.execute(inactivity_population(ev, sb, grid, auto))
    assert list(population.account_id) == [2]
