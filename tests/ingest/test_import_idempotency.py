"""Importing the same file twice changes nothing; a changed row updates in place."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tenure.ingest.spec import ALL_KINDS

SKIPPED_TABLES = {"import_run", "quarantined_row", "alembic_version", "segment_membership"}


def _dump(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Return every app-DB table but the import bookkeeping, fully, in primary-key order."""
    inspector = sa.inspect(engine)
    tables = sorted(set(inspector.get_table_names()) - SKIPPED_TABLES)
    keys = {t: ", ".join(inspector.get_pk_constraint(t)["constrained_columns"]) for t in tables}
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY {keys[t]}"))]
            for t in tables
        }


@pytest.mark.usefixtures("frozen_clock")
def test_importing_every_kind_twice_changes_nothing(
    any_settings, any_engine, files, run_import, tools
):
    paths = {kind: files.sample(kind) for kind in ALL_KINDS}
    for kind in ALL_KINDS:
        result = run_import(any_settings, any_engine, kind, paths[kind])
        assert result.exit_code == 0, (kind, result)
    before, events_before = _dump(any_engine), tools.warehouse_events(any_settings)
    expected_rows = {
        "account": 3,
        "contact": 2,
        "subscription": 3,
        "invoice": 2,
        "ticket": 2,
        "survey_response": 2,
        "marketing_spend": 2,
    }
    assert {t: len(before[t]) for t in expected_rows} == expected_rows
    assert len(events_before) == 3

    for kind in ALL_KINDS:
        result = run_import(any_settings, any_engine, kind, paths[kind])
        assert result.exit_code == 0, (kind, result)
        assert result.rows_inserted == 0, (kind, result)
        if kind == "events":
            assert result.rows_duplicate == 3
        else:
            assert result.rows_updated == result.rows_loaded == len(tools.sample[kind][1])

    assert _dump(any_engine) == before
    assert tools.warehouse_events(any_settings) == events_before
    assert tools.event_count(any_settings) == 3
    assert tools.rows(any_engine, "SELECT count(*) FROM import_run WHERE status = 'succeeded'") == [
        (2 * len(ALL_KINDS),)
    ]


@pytest.mark.usefixtures("frozen_clock")
def test_changed_rows_update_in_place(any_settings, any_engine, files, run_import, tools):
    for kind in ("accounts", "contacts", "subscriptions"):
        run_import(any_settings, any_engine, kind, files.sample(kind))
    ids_before = dict(tools.rows(any_engine, "SELECT external_id, id FROM account"))
    contacts_before = tools.rows(any_engine, "SELECT id, account_id FROM contact ORDER BY id")
    header, data = tools.sample["accounts"]
    changed = [list(row) for row in data]
    changed[1][1] = "Beta Renamed"
    changed.append(["a4", "Delta", "2024-05-05", "", "", "", ""])
    path = files.csv("accounts-v2.csv", header, changed)

    result = run_import(any_settings, any_engine, "accounts", path)

    assert (result.exit_code, result.rows_inserted, result.rows_updated) == (0, 1, 3)
    after = {
        ext: (id_, name)
        for ext, id_, name in tools.rows(any_engine, "SELECT external_id, id, name FROM account")
    }
    assert after["a2"] == (ids_before["a2"], "Beta Renamed")
    assert {k: v[0] for k, v in after.items() if k != "a4"} == ids_before
    assert after["a1"][1] == "Acme"
    assert tools.rows(any_engine, "SELECT id, account_id FROM contact ORDER BY id") == (
        contacts_before
    )

    header, data = tools.sample["subscriptions"]
    first = dict(zip(header, data[0], strict=True)) | {
        "status": "canceled",
        "ended_at": "2024-06-01",
        "mrr": "0",
    }
    sub_id = tools.rows(any_engine, "SELECT id FROM subscription WHERE external_id = 's1'")
    result = run_import(
        any_settings,
        any_engine,
        "subscriptions",
        files.csv("subscriptions-v2.csv", header, [[first[c] for c in header]]),
    )
    assert (result.rows_inserted, result.rows_updated) == (0, 1)
    assert tools.rows(
        any_engine, "SELECT id, status, mrr FROM subscription WHERE external_id = 's1'"
    ) == [(sub_id[0][0], "canceled", 0)]
    assert tools.rows(any_engine, "SELECT count(*) FROM subscription") == [(3,)]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_events_without_message_id_land_once_each(settings, engine, files, run_import, tools):
    header, data = tools.sample["events"]
    path = files.csv("events.csv", header[1:], [row[1:] for row in data])

    first = run_import(settings, engine, "events", path)
    second = run_import(settings, engine, "events", path)

    assert (second.rows_inserted, second.rows_duplicate) == (0, 3)
    assert tools.event_count(settings) == 3
    assert first.rows_inserted == 3
    ids = [e["message_id"] for e in tools.warehouse_events(settings)]
    assert all(i.startswith("gen-") for i in ids) and len(set(ids)) == 3


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_events_repeated_within_one_file_land_once(settings, engine, files, run_import, tools):
    header, data = tools.sample["events"]
    path = files.csv("events.csv", header, [*data, data[0], data[2]])

    result = run_import(settings, engine, "events", path)

    assert (result.exit_code, result.rows_inserted, result.rows_duplicate) == (0, 3, 2)
    assert [e["message_id"] for e in tools.warehouse_events(settings)] == ["e1", "e2", "e3"]
