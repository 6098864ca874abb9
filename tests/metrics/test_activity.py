"""Active accounts and logo retention by cohort follow the churn definition (brute force)."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from tenure.churn.inactivity import ChurnDefinition
from tenure.metrics.presence import (
    account_presence,
    active_accounts_by_month,
    logo_retention_cells,
)

START = datetime(2025, 1, 1)
FIRST, LAST = 2025 * 12, 2025 * 12 + 8  # January … September 2025
SUB_SCHEMA = {
    "account_id": "int64",
    "mrr": "int64",
    "started_at": "timestamp",
    "ended_at": "timestamp",
}


def book(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return events (30 accounts, random bursts and gaps) and subscriptions of accounts 1–8."""
    rng = np.random.default_rng(seed)
    rows = []
    for account in range(1, 31):
        day = int(rng.integers(0, 120))
        while day < 270:
            rows.append((account, START + timedelta(days=day, hours=int(rng.integers(0, 24)))))
            day += int(rng.choice([1, 3, 8, 20, 35, 60]))
    subs = [
        (a, 1000 * a, START + timedelta(days=20 * a), START + timedelta(days=20 * a + 90 + 7 * a))
        for a in range(1, 9)
    ]
    events = pd.DataFrame(rows, columns=["account_id", "ts"])
    return events, pd.DataFrame(subs, columns=list(SUB_SCHEMA))


def month_end_cutoff(month: int) -> datetime:
    return datetime((month + 1) // 12, (month + 1) % 12 + 1, 1)


def brute_presence(
    events: pd.DataFrame,
    subs: pd.DataFrame,
    kind: str,
    n: int,
    *,
    accounts: range | list[int] = range(1, 31),
    months: range = range(FIRST, LAST + 1),
) -> set[tuple[int, int]]:
    """Return the (account, month) pairs counted at month-ends, account by account."""
    out = set()
    for account in accounts:
        ts = events.ts[events.account_id == account]
        rows = subs[subs.account_id == account]
        for month in months:
            t = month_end_cutoff(month)
            day_t = pd.Timestamp(t)
            active = bool(
                (
                    (ts.dt.floor("D") < day_t) & (ts.dt.floor("D") >= day_t - pd.Timedelta(days=n))
                ).any()
            )
            billed = bool((rows.started_at < t).any())
            paying = bool(((rows.started_at < t) & (rows.ended_at >= t) & (rows.mrr > 0)).any())
            if kind == "subscription":
                counted = paying
            elif kind == "inactivity":
                counted = active
            else:
                counted = paying if billed else active
            if counted:
                out.add((account, month))
    return out


@pytest.mark.parametrize("kind", ["auto", "subscription", "inactivity"])
def test_presence_cohorts_and_active_accounts_follow_the_definition(kind: str) -> None:
    events, subs = book(4)
    definition = ChurnDefinition(kind=kind, inactivity_days=30)
    ev, sb = ibis.memtable(events), ibis.memtable(subs, schema=SUB_SCHEMA)
    con = ibis.duckdb.connect()
    months = range(FIRST, LAST + 1)
    presence = con.execute(account_presence(sb, ev, months, definition))
    got = set(zip(presence.account_id.astype(int), presence.month.astype(int), strict=True))
    expected = brute_presence(events, subs, kind, 30)
    assert got == expected and len(expected) > 20

    counts = con.execute(active_accounts_by_month(account_presence(sb, ev, months, definition)))
    by_month = dict(zip(counts.month, counts.active_accounts, strict=True))
    for month in months:
        assert by_month.get(month, 0) == sum(1 for _, m in expected if m == month)

    cells = con.execute(
        logo_retention_cells(sb, ev, definition, history_start=FIRST, first=FIRST, last=LAST)
    )
    first_month = {}
    for account, month in sorted(expected, key=lambda p: p[1]):
        first_month.setdefault(account, month)
    for row in cells.itertuples():
        members = [a for a, c in first_month.items() if c == row.cohort]
        month = row.cohort + row.months_since
        assert row.size == len(members)
        assert row.accounts == sum((a, month) in expected for a in members)
    assert cells["size"].sum() > 0
