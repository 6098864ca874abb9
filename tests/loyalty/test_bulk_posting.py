"""Bulk posting of earnings: SQL-derived entries, lots and wallets; driver-level times."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tenure.db.session import session_scope
from tenure.loyalty import bulk_posting
from tenure.loyalty.bulk_posting import driver_times, post_earning_table
from tenure.loyalty.ledger import add_months, ensure_wallets
from tenure.loyalty.models import LoyaltyEntry, LoyaltyLot, LoyaltyMovement, LoyaltyWallet

from ..factories import add_account


def _table(rows: list[tuple[int, str, int, str, datetime]]) -> pa.Table:
    """Return earnings rows (account, rule, points, source key, time) as the stage's table."""
    columns = list(zip(*rows, strict=True))
    return pa.table({
        "account_id": pa.array(columns[0], pa.int64()), "rule": pa.array(columns[1]),
        "points": pa.array(columns[2], pa.int64()), "source_key": pa.array(columns[3]),
        "ts": pa.array(columns[4], pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def test_chunks_credit_wallets_balance_entries_and_replays_post_nothing(
    any_engine, frozen_clock, monkeypatch
):
    monkeypatch.setattr(bulk_posting, "CHUNK", 3)
    with session_scope(any_engine) as session:
        first, second = add_account(session).id, add_account(session).id
        ensure_wallets(session, [first])  # one wallet exists, the other is created by posting
    at = datetime(2025, 3, 5, 10, tzinfo=UTC)
    rows = [(first if i % 3 else second, "r", i + 1, f"k{i}", at + timedelta(hours=i))
            for i in range(7)]  # fmt: skip
    with session_scope(any_engine) as session:
        assert post_earning_table(session, _table(rows[:4]), 12, "pipeline") == 4
    with session_scope(any_engine) as session:  # overlapping replay: only the 3 new ones
        assert post_earning_table(session, _table(rows), 12, "pipeline") == 3
        assert post_earning_table(session, _table(rows), 12, "pipeline") == 0
    with session_scope(any_engine) as session:
        balances = dict(
            session.execute(sa.select(LoyaltyWallet.account_id, LoyaltyWallet.balance)).all()
        )
        entries = session.execute(sa.select(LoyaltyEntry.ledger_account, LoyaltyEntry.amount)).all()
        lots = session.execute(sa.select(LoyaltyLot.movement_id, LoyaltyLot.remaining)).all()
        movements = session.execute(sa.select(LoyaltyMovement.id, LoyaltyMovement.points)).all()
    expected = {first: 0, second: 0}
    for account, _, points, _, _ in rows:
        expected[account] += points
    assert balances == expected
    assert sum(amount for _, amount in entries) == 0 and len(entries) == 2 * len(rows)
    assert sorted(lots) == sorted(movements) and len(movements) == len(rows)


def test_lots_expire_on_the_same_day_months_later_clamped_to_month_end(any_engine, frozen_clock):
    days = [(2024, 1, 31), (2024, 2, 29), (2025, 1, 29), (2025, 1, 30), (2025, 3, 31),
            (2025, 5, 31), (2025, 8, 31), (2025, 12, 31), (2025, 6, 15), (2023, 2, 28)]  # fmt: skip
    with session_scope(any_engine) as session:
        account = add_account(session).id
    times = [datetime(y, m, d, 23, 59, 59, 999_999, tzinfo=UTC) for y, m, d in days]
    for months in (1, 12, 13):
        rows = [(account, "r", 1, f"{months}:{i}", t) for i, t in enumerate(times)]
        with session_scope(any_engine) as session:
            post_earning_table(session, _table(rows), months, "pipeline")
            found = session.execute(
                sa.select(LoyaltyMovement.occurred_at, LoyaltyLot.expires_on, LoyaltyLot.earned_at)
                .join(LoyaltyLot, LoyaltyLot.movement_id == LoyaltyMovement.id)
                .where(LoyaltyMovement.source_key.like(f"{months}:%"))
            ).all()  # fmt: skip
        assert len(found) == len(times)
        for occurred, expires, earned in found:
            assert earned == occurred and occurred in times
            assert expires == add_months(occurred.date(), months)


def test_sqlite_driver_times_are_sqlalchemys_storage_format(engine):
    rng = random.Random(3)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    times = [start + timedelta(microseconds=rng.randrange(10**15)) for _ in range(200)]
    times += [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC)]
    dialect = engine.dialect
    column_type = LoyaltyMovement.__table__.c.occurred_at.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    array = pa.array(times, pa.timestamp("us", tz="UTC"))
    assert driver_times(array, dialect) == [process(t) for t in times]


@pytest.mark.sqlite_only  # the query plan of SQLite's app DB
def test_sqlite_reads_each_chunk_by_rowid_range_not_a_ledger_wide_index(engine, frozen_clock):
    plans: list[str] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if not executemany and not statement.startswith("EXPLAIN") and "posted_at" in statement:
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.extend(row[-1] for row in rows if "loyalty_movement" in row[-1])

    with session_scope(engine) as session:
        account = add_account(session).id
    rows = [(account, "r", 1, f"k{i}", datetime(2025, 3, 5, tzinfo=UTC)) for i in range(5)]
    sa.event.listen(engine, "before_cursor_execute", explain)
    try:
        with session_scope(engine) as session:
            assert post_earning_table(session, _table(rows), 12, "pipeline") == 5
    finally:
        sa.event.remove(engine, "before_cursor_execute", explain)
    assert len(plans) == 5  # count, two entry inserts, lots, wallets
    assert all("INTEGER PRIMARY KEY (rowid>?)" in plan for plan in plans), plans
