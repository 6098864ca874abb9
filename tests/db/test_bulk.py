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


def test_numpy_columns_and_list_values_bind_as_python_values(any_engine):
    """NumPy int64/float64 columns and list-valued JSON rows store what Python lists store."""
    import numpy as np

    table = sa.Table(
        "bulk_numbers",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("batch", sa.String(8)),
        sa.Column("count", sa.BigInteger),
        sa.Column("share", sa.Float),
        sa.Column("tags", sa.JSON),
    )
    table.create(any_engine)
    try:
        counts = np.arange(2**40, 2**40 + 150, dtype=np.int64)
        shares = np.linspace(0.0, 1.0, 150)
        tags = [[i, "x"] if i % 2 else [] for i in range(150)]
        with any_engine.begin() as conn:
            bulk.bulk_insert_columns(
                conn, table, {"count": counts, "share": shares, "tags": tags},
                constants={"batch": "numpy"},
            )  # fmt: skip
            bulk.bulk_insert_columns(
                conn, table, {"count": counts.tolist(), "share": shares.tolist(), "tags": tags},
                constants={"batch": "lists"},
            )  # fmt: skip
        query = sa.select(table.c["count", "share", "tags"]).order_by(table.c.id)
        with any_engine.connect() as conn:
            stored = {
                batch: [tuple(row) for row in conn.execute(query.where(table.c.batch == batch))]
                for batch in ("numpy", "lists")
            }
        assert stored["numpy"] == stored["lists"]
        assert stored["numpy"][3] == (2**40 + 3, shares[3], [3, "x"])
    finally:
        table.drop(any_engine)
