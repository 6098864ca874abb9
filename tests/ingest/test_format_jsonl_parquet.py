"""JSONL and Parquet input: bad lines and rows quarantined with their numbers, nested properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.accounts.models import Subscription


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_jsonl_bad_lines_are_quarantined_with_their_line_numbers(
    settings, engine, files, check_import, tools
):
    path = files.jsonl(
        "events.jsonl",
        [
            {
                "message_id": "m1",
                "account_id": "a1",
                "event": "login",
                "timestamp": "2024-05-01T08:00:00Z",
            },  # 1
            "not json at all",  # 2
            "[1, 2]",  # 3
            '"just a string"',  # 4
            "",  # 5 (blank lines are skipped, not quarantined)
            {
                "message_id": "m2",
                "account_id": "a2",
                "event": "export",
                "timestamp": 1714550400,
                "properties": {"plan": {"tier": "pro"}, "seats": 3},
            },  # 6
            {"message_id": "m3", "account_id": "a1", "event": "x", "timestamp": "bad"},  # 7
            '{"message_id": "m4", "account_id": "a1", "event": "login",',  # 8 (cut short)
            {
                "message_id": "m5",
                "account_id": "a3",
                "event": "logout",
                "timestamp": 1714550400000,
                "unknown_key": True,
            },  # 9
        ],
    )

    result, found = check_import(
        "events",
        path,
        [
            (2, None, "not valid JSON"),
            (3, None, "not a JSON object (found array)"),
            (4, None, "not a JSON object"),
            (7, "timestamp", "unparseable timestamp 'bad'"),
            (8, None, "not valid JSON"),
        ],
    )
    assert found[0][3] == "not valid JSON"
    raws = tools.quarantine_csv(
        settings.imports_dir / f"run-{tools.last_run(engine).id}-events-quarantine.csv"
    )
    assert raws[0]["raw"] == "not json at all"
    assert json.loads(raws[3]["raw"])["message_id"] == "m3"
    events = tools.warehouse_events(settings)
    t = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert [(e["message_id"], e["account_external_id"], e["ts"]) for e in events] == [
        ("m1", "a1", t),
        ("m2", "a2", t),
        ("m5", "a3", t),
    ]
    assert json.loads(events[1]["properties"]) == {"plan": {"tier": "pro"}, "seats": 3}
    # A key that is not canonical is kept as a property, typed as read (issue 27).
    assert json.loads(events[2]["properties"]) == {"unknown_key": True}
    assert "ignored columns" not in result.stdout


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_jsonl_non_utf8_line_is_quarantined(settings, engine, files, run_import, tools):
    good = b'{"message_id": "m%d", "account_id": "a1", "event": "e", "timestamp": "2024-05-01"}\n'
    path = files.raw(
        "events.jsonl",
        good % 1
        + b'{"message_id": "m2", "account_id": "a1", "event": "\xff\xfe", "timestamp": 1}\n'
        + b'{"message_id": "m3", "account_id": "a1", "event": "e", "timestamp": "bad"}\n'
        + good % 4,
    )

    result = run_import(settings, engine, "events", path)

    assert result.rows_read == 4
    tools.assert_quarantined(
        settings,
        engine,
        path,
        [(2, None, "UTF-8"), (3, "timestamp", "unparseable timestamp 'bad'")],
    )


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_parquet_imports_and_bad_rows_carry_their_row_number(
    settings, engine, files, check_import, tools
):
    ts = pa.array(
        [datetime(2024, 1, 1, tzinfo=UTC)] * 5 + [datetime(2030, 1, 1, tzinfo=UTC)],
        pa.timestamp("us", tz="UTC"),
    )
    table = pa.table(
        {
            "subscription_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
            "account_id": ["a1", "a1", "a2", "nobody", "a3", "a3"],
            "plan": ["pro", "pro", "basic", "pro", "pro", "pro"],
            "mrr": [12.34, -1.0, 5.0, 1.0, 99.99, 1.0],
            "currency": ["USD", "USD", "JPY", "USD", "EUR", "USD"],
            "quantity": pa.array([1, 2, None, 1, 4, 1], pa.int64()),
            "started_at": ts,
        }
    )
    path = files.parquet("subscriptions.parquet", table)
    grouped = files.path("grouped.parquet")
    pq.write_table(table, grouped, row_group_size=2)  # row numbers run across row groups

    for source in (path, grouped):
        check_import(
            "subscriptions",
            source,
            [
                (2, "mrr", "negative amount '-1.0'"),
                (4, "account_id", "unknown account 'nobody'"),
                (6, "started_at", "timestamp in the future: 2030-01-01T00:00:00Z"),
            ],
        )
    landed = tools.orm_rows(
        engine, Subscription, "external_id", "mrr", "currency", "quantity", "started_at"
    )
    assert landed == [
        ("s1", 1234, "USD", 1, datetime(2024, 1, 1, tzinfo=UTC)),
        ("s3", 5, "JPY", 1, datetime(2024, 1, 1, tzinfo=UTC)),
        ("s5", 9999, "EUR", 4, datetime(2024, 1, 1, tzinfo=UTC)),
    ]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_parquet_events_with_struct_properties(settings, engine, files, run_import, tools):
    path = files.parquet(
        "events.parquet",
        {
            "account_id": ["a1", "a2"],
            "message_id": ["p1", "p2"],
            "event": ["login", "export"],
            "timestamp": pa.array([1714550400, 1714550400000], pa.int64()),
            "properties": [{"ip": "10.0.0.1", "n": 1}, {"ip": None, "n": 2}],
        },
    )

    result = run_import(settings, engine, "events", path)

    assert result.exit_code == 0
    events = tools.warehouse_events(settings)
    assert [e["message_id"] for e in events] == ["p1", "p2"]
    assert json.loads(events[0]["properties"]) == {"ip": "10.0.0.1", "n": 1}
    assert {e["ts"] for e in events} == {datetime(2024, 5, 1, 8, 0, tzinfo=UTC)}
