"""Mixpanel and Amplitude exports, written in their documented formats, import as events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tenure.accounts.models import Account

# 2025-05-01T08:00:00Z as epoch seconds (Mixpanel's `time`).
MAY_FIRST = 1746086400


def mixpanel_lines() -> list[dict]:
    """Return a small Mixpanel raw export: a group key on two events, a bare user on one."""
    return [
        {
            "event": "Signed Up",
            "properties": {
                "time": MAY_FIRST,
                "distinct_id": "c1",
                "$insert_id": "mp-1",
                "company": "a2",
                "mp_processing_time_ms": 1746086400123,
                "$os": "Mac OS X",
            },
        },
        {
            "event": "Report Viewed",
            "properties": {
                "time": MAY_FIRST + 60,
                "distinct_id": "c1",
                "$insert_id": "mp-2",
                "company": ["a3"],
                "pages": 4,
            },
        },
        {
            "event": "Report Viewed",
            "properties": {"time": MAY_FIRST + 120, "distinct_id": "c2", "$insert_id": "mp-3"},
        },
    ]


def amplitude_lines() -> list[dict]:
    """Return a small Amplitude export: a known group, a new group, a user without a group."""
    base = {"device_id": "d-1", "uuid": "unused", "user_properties": {"plan": "pro"}}
    return [
        {
            **base,
            "user_id": "c1",
            "event_type": "dashboard_opened",
            "event_time": "2025-05-01 08:00:00.250000",
            "insert_id": "amp-1",
            "event_properties": {"widgets": 3},
            "groups": {"company": ["a1"]},
        },
        {
            **base,
            "user_id": "c9",
            "event_type": "seat_added",
            "event_time": "2025-05-02 09:30:00.000000",
            "insert_id": "amp-2",
            "event_properties": {},
            "groups": {"company": "newco"},
        },
        {
            **base,
            "user_id": "c2",
            "event_type": "dashboard_opened",
            "event_time": "2025-05-03 10:00:00.000000",
            "insert_id": "amp-3",
            "event_properties": {"widgets": 1},
            "groups": {},
        },
    ]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_mixpanel_export_imports_through_group_key_or_contact(
    settings, engine, files, run_cli, tools
):
    path = files.jsonl("mixpanel-export.json.gz", mixpanel_lines())

    result = run_cli(settings, "mixpanel", path, "--group-key", "company")

    assert result.exit_code == 0, result.output
    events = tools.warehouse_events(settings)
    assert [
        (e["message_id"], e["account_external_id"], e["contact_external_id"], e["name"], e["ts"])
        for e in events
    ] == [
        ("mp-1", "a2", "c1", "Signed Up", datetime(2025, 5, 1, 8, tzinfo=UTC)),
        ("mp-2", "a3", "c1", "Report Viewed", datetime(2025, 5, 1, 8, 1, tzinfo=UTC)),
        ("mp-3", "a2", "c2", "Report Viewed", datetime(2025, 5, 1, 8, 2, tzinfo=UTC)),
    ]
    assert json.loads(events[0]["properties"]) == {
        "company": "a2",
        "mp_processing_time_ms": 1746086400123,
        "$os": "Mac OS X",
    }
    assert {e["source"] for e in events} == {"mixpanel"}
    assert tools.last_run(engine).path == str(path)

    again = run_cli(settings, "mixpanel", path, "--group-key", "company")
    assert again.exit_code == 0, again.output
    assert "3 duplicates ignored" in again.stdout
    assert tools.event_count(settings) == 3


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_mixpanel_user_without_contact_is_quarantined_with_its_count(
    settings, files, run_cli, tools
):
    lines = mixpanel_lines()
    lines[2]["properties"]["distinct_id"] = "anon-7"
    path = files.jsonl("mixpanel.jsonl", lines)

    result = run_cli(settings, "mixpanel", path, "--group-key", "company")

    assert result.exit_code == 3, result.output
    assert "unknown contact" in result.stdout
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()]
    assert ["contact_id", "anon-7", "1"] in cells
    assert tools.event_count(settings) == 2


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_amplitude_export_imports_and_creates_the_group_accounts(
    settings, engine, files, run_cli, tools
):
    path = files.jsonl("amplitude-export.json", amplitude_lines())

    result = run_cli(settings, "amplitude", path, "--group-type", "company", "--create-accounts")

    assert result.exit_code == 0, result.output
    assert "accounts created: 1" in result.stdout
    newco = [r for r in tools.orm_rows(engine, Account, "external_id", "created_at", "source")]
    assert ("newco", datetime(2025, 5, 2, 9, 30, tzinfo=UTC), "amplitude") in newco
    events = tools.warehouse_events(settings)
    assert [
        (e["message_id"], e["account_external_id"], e["contact_external_id"], e["name"], e["ts"])
        for e in events
    ] == [
        ("amp-1", "a1", "c1", "dashboard_opened", datetime(2025, 5, 1, 8, 0, 0, 250000, UTC)),
        ("amp-2", "newco", "c9", "seat_added", datetime(2025, 5, 2, 9, 30, tzinfo=UTC)),
        ("amp-3", "a2", "c2", "dashboard_opened", datetime(2025, 5, 3, 10, tzinfo=UTC)),
    ]
    assert json.loads(events[0]["properties"]) == {
        "widgets": 3,
        "user_properties": {"plan": "pro"},
    }

    again = run_cli(settings, "amplitude", path, "--group-type", "company", "--create-accounts")
    assert again.exit_code == 0, again.output
    assert "accounts created" not in again.stdout
    assert tools.event_count(settings) == 3


@pytest.mark.usefixtures("frozen_clock")
def test_amplitude_without_groups_makes_each_user_an_account(
    settings, engine, files, run_cli, tools
):
    lines = amplitude_lines()
    for line in lines:
        line["groups"] = {}
    path = files.jsonl("amplitude.jsonl", lines)

    result = run_cli(settings, "amplitude", path, "--create-accounts")

    assert result.exit_code == 0, result.output
    assert tools.orm_rows(engine, Account, "external_id") == [("c1",), ("c2",), ("c9",)]


@pytest.mark.usefixtures("frozen_clock")
def test_a_csv_given_as_mixpanel_export_is_refused(settings, files, run_cli, tools):
    path = files.csv("export.csv", ["event"], [["x"]])

    result = run_cli(settings, "mixpanel", path)

    assert result.exit_code == 2
    assert "JSON lines" in tools.error_text(result)
