"""Values padded with spaces are trimmed, in any column and only where needed."""

from __future__ import annotations

import pytest

from tenure.warehouse.connection import open_warehouse


@pytest.mark.usefixtures("frozen_clock")
def test_padded_values_are_trimmed_and_blank_ones_are_missing(
    settings, engine, files, tools, run_import
):
    path = files.csv(
        "accounts.csv",
        ["account_id", "name", "created_at", "industry", "region"],
        [
            [" a1 ", "Acme ", "2024-01-15T09:30:00Z", "software", "   "],
            ["a2", "Beta", " 2024-02-01 ", "retail", "emea"],
        ],
    )

    result = run_import(settings, engine, "accounts", path)

    assert result.rows_quarantined == 0
    assert tools.rows(
        engine, "SELECT external_id, name, industry, region FROM account ORDER BY 1"
    ) == [
        ("a1", "Acme", "software", None),
        ("a2", "Beta", "retail", "emea"),
    ]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_padded_event_columns_are_trimmed_in_the_warehouse(settings, engine, files, run_import):
    path = files.csv(
        "events.csv",
        ["account_id", "event", "timestamp"],
        [["a1 ", " login", "2025-01-01T00:00:00Z"], ["a2", "export", " 1735689600 "]],
    )

    result = run_import(settings, engine, "events", path)

    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
    with open_warehouse(settings, read_only=True) as warehouse:
        landed = warehouse.con.execute(
            "SELECT account_external_id, name, epoch(ts) FROM events ORDER BY 1"
        ).fetchall()
    assert landed == [("a1", "login", 1735689600.0), ("a2", "export", 1735689600.0)]
