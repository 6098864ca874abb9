"""Bulk inserts store exactly what a Core insert stores, on every batching path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tenure.accounts.models import Account
from tenure.db import bulk

CREATED = datetime(2025, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def _columns(prefix: str, n: int) -> dict[str, list]:
    """Return n accounts column by column: text, None, aware times and JSON values mixed."""
    return {
        "external_id": [f"{prefix}{i}" for i in range(n)],
        "name": [f"Account ü{i}" for i in range(n)],
        "industry": [None if i % 3 == 0 else f"industry {i % 7}" for i in range(n)],
        "attributes": [{"tier": i % 4, "note": None if i % 2 else "é"} for i in range(n)],
        "created_at": [CREATED + timedelta(seconds=i) for i in range(n)],
    }


def _stored(engine, prefix: str) -> list[tuple]:
    """Return the stored rows of one batch as text, ids left out, in insertion order."""
    query = sa.text(
        "SELECT substr(external_id, 6), name, industry, CAST(attributes AS TEXT), "
        "CAST(created_at AS TEXT), source FROM account WHERE external_id LIKE :p ORDER BY id"
    )
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query, {"p": f"{prefix}%"})]


@pytest.mark.parametrize("n", [1, 99, 100, 257])  # under, at and over one multi-row statement
def test_bulk_rows_equal_a_core_insert(any_engine, n):
    """Every row lands once, in order, with the values and constants Core would bind."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(any_engine, "before_cursor_execute", record)
    with any_engine.begin() as conn:
        core = _columns("core_", n)
        rows = [dict(zip(core, values, strict=True)) for values in zip(*core.values(), strict=True)]
        conn.execute(sa.insert(Account.__table__), [{**row, "source": "bulk"} for row in rows])
        bulk.bulk_insert_columns(
            conn, Account.__table__, _columns("bulk_", n),
            raw=(), constants={"source": "bulk"},
        )  # fmt: skip
    sa.event.remove(any_engine, "before_cursor_execute", record)
    assert _stored(any_engine, "bulk_") == _stored(any_engine, "core_")
    assert len(_stored(any_engine, "bulk_")) == n
    multi_row = any(statement.count("), (") for statement in statements)
    assert multi_row == (any_engine.dialect.name == "sqlite" and n >= bulk.VALUES_ROWS)


def test_a_bad_row_in_a_multi_row_statement_rolls_back_the_batch(any_engine):
    """A duplicate key inside a 100-row statement raises; the transaction keeps nothing."""
    columns = _columns("dup_", 150)
    columns["external_id"][120] = columns["external_id"][10]
    with pytest.raises(IntegrityError), any_engine.begin() as conn:
        bulk.bulk_insert_columns(conn, Account.__table__, columns, constants={"source": "x"})
    assert _stored(any_engine, "dup_") == []


def test_insert_new_returns_only_the_keys_it_stored(any_engine):
    """Stored keys are skipped (across calls and chunks); new rows land as Core binds them."""
    table = Account.__table__
    with any_engine.begin() as conn:
        core = _columns("core_", 5)
        rows = [dict(zip(core, values, strict=True)) for values in zip(*core.values(), strict=True)]
        conn.execute(sa.insert(table), [{**row, "source": "bulk"} for row in rows])
        first = _columns("bulk_", 3)
        first["source"] = ["bulk"] * 3
        assert sorted(bulk.insert_new(conn, table, first, key="external_id")) == [
            "bulk_0",
            "bulk_1",
            "bulk_2",
        ]
        again = _columns("bulk_", 5)  # bulk_0..2 stored already; chunks of 2 rows
        again["source"] = ["bulk"] * 5
        new = bulk.insert_new(conn, table, again, key="external_id", chunk=2)
    assert sorted(new) == ["bulk_3", "bulk_4"]
    assert _stored(any_engine, "bulk_") == _stored(any_engine, "core_")
