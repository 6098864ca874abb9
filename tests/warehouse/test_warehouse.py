"""The warehouse: Ibis over DuckDB, one writer at a time, read-only readers."""

from __future__ import annotations

import pytest

from tenure.errors import LockHeld
from tenure.warehouse.connection import open_warehouse, writer_lock


def test_ibis_reads_the_events_table(settings):
    with open_warehouse(settings) as warehouse:
        warehouse.con.execute(
            "INSERT INTO events VALUES ('m1', 1, 'a1', NULL, 'login',"
            " TIMESTAMPTZ '2025-01-01 00:00:00+00', '{}', 'test', now(), NULL)"
        )
        events = warehouse.ibis.table("events")
        counts = events.group_by("name").aggregate(n=events.count()).execute()
    assert counts.to_dict("records") == [{"name": "login", "n": 1}]


def test_a_second_writer_gets_a_clear_error_naming_the_holder(settings):
    with (
        writer_lock(settings.warehouse_path),
        pytest.raises(LockHeld, match=r"being written by pid \d+"),
        open_warehouse(settings),
    ):
        pass
    with open_warehouse(settings):  # released: the next writer gets in
        pass


def test_readers_see_an_empty_schema_before_the_first_write(settings):
    with open_warehouse(settings, read_only=True) as warehouse:
        assert warehouse.con.execute("SELECT count(*) FROM events").fetchone() == (0,)
