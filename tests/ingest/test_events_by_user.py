"""Events keyed by user (issue 27): contacts and emails resolve accounts, extras are kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tenure.accounts.models import Account

CLICKSTREAM_HEADER = [
    "user_id",
    "session_id",
    "event",
    "timestamp",
    "platform",
    "acquisition_channel",
    "user_cohort",
    "user_lifecycle",
]
CLICKSTREAM = [
    ["u1", "101", "app_open", "2025-03-01T09:00:00Z", "ios", "organic", "2025-03", "new"],
    ["u2", "201", "app_open", "2025-03-02T10:00:00Z", "web", "paid", "2025-03", "new"],
    ["u1", "101", "search", "2025-03-01T09:01:30Z", "ios", "organic", "2025-03", "new"],
    ["u1", "102", "purchase", "2025-04-05T18:00:00Z", "android", "referral", "2025-03", "active"],
    ["u3", "301", "app_open", "2025-05-20T07:00:00Z", "web", "", "2025-05", "new"],
]
CLICKSTREAM_MAPPING = """
source = "clickstream"
ignore = ["user_lifecycle"]

[columns]
account_id = "user_id"

[accounts.attributes]
cohort = "user_cohort"
acquisition_channel = "acquisition_channel"
"""


def _properties(events: list[dict]) -> list[dict]:
    return [json.loads(e["properties"]) for e in events]


@pytest.mark.usefixtures("frozen_clock")
def test_clickstream_imports_with_create_accounts_and_nothing_quarantined(
    settings, engine, files, check_import, tools
):
    path = files.csv("clickstream.csv", CLICKSTREAM_HEADER, CLICKSTREAM)
    mapping = files.raw("clickstream.toml", CLICKSTREAM_MAPPING)

    first, _ = check_import(
        "events", path, [], "--mapping", str(mapping), "--create-accounts", code=0
    )

    assert "accounts created: 3" in first.stdout
    assert "ignored columns: user_lifecycle" in first.stdout
    assert tools.orm_rows(engine, Account, "external_id", "name", "created_at", "attributes") == [
        # created at the first event; attributes as of the latest event (u1 moved to referral)
        (
            "u1",
            "u1",
            datetime(2025, 3, 1, 9, tzinfo=UTC),
            {"cohort": "2025-03", "acquisition_channel": "referral"},
        ),
        (
            "u2",
            "u2",
            datetime(2025, 3, 2, 10, tzinfo=UTC),
            {"cohort": "2025-03", "acquisition_channel": "paid"},
        ),
        ("u3", "u3", datetime(2025, 5, 20, 7, tzinfo=UTC), {"cohort": "2025-05"}),
    ]
    events = sorted(tools.warehouse_events(settings), key=lambda e: e["ts"])
    assert [(e["account_external_id"], e["name"], e["source"]) for e in events] == [
        ("u1", "app_open", "clickstream"),
        ("u1", "search", "clickstream"),
        ("u2", "app_open", "clickstream"),
        ("u1", "purchase", "clickstream"),
        ("u3", "app_open", "clickstream"),
    ]
    # the extra columns are kept, typed as read; the attribute and ignored columns are not
    assert _properties(events)[:2] == [
        {"session_id": 101, "platform": "ios"},
        {"session_id": 101, "platform": "ios"},
    ]
    account_ids = {a for (a,) in tools.rows(engine, "SELECT id FROM account")}
    assert {e["account_id"] for e in events} == account_ids

    again, _ = check_import(
        "events", path, [], "--mapping", str(mapping), "--create-accounts", code=0
    )
    assert "accounts created" not in again.stdout
    assert "5 read, 5 loaded (0 new, 0 existing, 5 duplicates ignored)" in again.stdout
    assert tools.event_count(settings) == 5
    assert len(tools.orm_rows(engine, Account, "external_id")) == 3


@pytest.mark.usefixtures("frozen_clock")
def test_clickstream_without_create_accounts_quarantines_with_a_count_per_user(
    settings, engine, files, check_import
):
    path = files.csv("clickstream.csv", CLICKSTREAM_HEADER, CLICKSTREAM)
    mapping = files.raw("clickstream.toml", CLICKSTREAM_MAPPING)

    result, _ = check_import(
        "events",
        path,
        [(line, "account_id", "unknown account") for line in range(2, 7)],
        "--mapping",
        str(mapping),
        code=2,
    )

    assert "Unresolved users (3): no account found" in result.stdout
    lines = [line.split("│") for line in result.stdout.splitlines() if "│" in line]
    cells = [[c.strip() for c in line[1:-1]] for line in lines]
    assert ["account_id", "u1", "3"] in cells
    assert ["account_id", "u2", "1"] in cells
    assert "or use --create-accounts" in result.stdout


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_events_keyed_by_contact_or_email_resolve_their_account(
    settings, engine, files, check_import, tools
):
    path = files.csv(
        "usage.csv",
        ["message_id", "user", "email", "event", "timestamp"],
        [
            ["m1", "c1", "", "login", "2025-05-01T08:00:00Z"],
            ["m2", "c2", "", "login", "2025-05-01T08:00:00Z"],
            ["m3", "", "ANN@acme.example", "export", "2025-05-01T08:00:00Z"],
            ["m4", "ghost", "", "login", "2025-05-01T08:00:00Z"],
            ["m5", "ghost", "", "login", "2025-05-02T08:00:00Z"],
            ["m6", "", "nobody@nowhere.example", "login", "2025-05-01T08:00:00Z"],
            ["m7", "", "", "login", "2025-05-01T08:00:00Z"],
        ],
    )
    mapping = files.raw("usage.toml", '[columns]\ncontact_id = "user"\n')

    result, _ = check_import(
        "events",
        path,
        [
            (5, "contact_id", "unknown contact 'ghost'"),
            (6, "contact_id", "unknown contact 'ghost'"),
            (7, "email", "no contact has email 'nobody@nowhere.example'"),
            (8, "account_id", "missing required value"),
        ],
        "--mapping",
        str(mapping),
    )

    events = tools.warehouse_events(settings)
    assert [
        (e["message_id"], e["account_external_id"], e["contact_external_id"]) for e in events
    ] == [
        ("m1", "a1", "c1"),
        ("m2", "a2", "c2"),
        ("m3", "a1", "c1"),
    ]
    ids = dict(tools.rows(engine, "SELECT external_id, id FROM account"))
    assert [e["account_id"] for e in events] == [ids["a1"], ids["a2"], ids["a1"]]
    assert "Unresolved users (2): no account found" in result.stdout
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()]
    assert ["contact_id", "ghost", "2"] in cells


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_extra_columns_are_typed_as_read_and_properties_win(settings, files, run_cli, tools):
    path = files.csv(
        "events.csv",
        ["account_id", "event", "timestamp", "n", "ratio", "flag", "zip", "obj", "note", "skip"],
        [
            ["a1", "e", "2025-05-01", "7", "0.5", "TRUE", "007", '{"a": 1}', "hi", "x"],
            ["a2", "e", "2025-05-02", "-3", "1e5", "no", "", "[1, 2]", "", "y"],
        ],
    )
    mapping = files.raw("m.toml", 'ignore = ["skip"]\n')

    result = run_cli(settings, "events", path, "--mapping", str(mapping))

    assert result.exit_code == 0, result.output
    found = sorted(_properties(tools.warehouse_events(settings)), key=lambda p: p["n"])
    assert found == [
        {"n": -3, "flag": "no", "obj": [1, 2], "ratio": "1e5"},
        {"n": 7, "ratio": 0.5, "flag": True, "zip": "007", "obj": {"a": 1}, "note": "hi"},
    ]
    with_properties = files.csv(
        "events2.csv",
        ["account_id", "event", "timestamp", "plan", "properties"],
        [["a1", "e2", "2025-05-03", "free", '{"plan": "pro", "seats": 2}']],
    )
    assert run_cli(settings, "events", with_properties).exit_code == 0
    newest = [p for p in _properties(tools.warehouse_events(settings)) if "seats" in p]
    assert newest == [{"plan": "pro", "seats": 2}]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_an_events_file_without_any_account_key_is_refused(settings, files, run_cli, tools):
    path = files.csv("events.csv", ["user", "event", "timestamp"], [["u1", "e", "2025-05-01"]])

    result = run_cli(settings, "events", path)

    assert result.exit_code == 2
    assert "account_id, contact_id or email" in tools.error_text(result)
    assert tools.event_count(settings) == 0


@pytest.mark.usefixtures("frozen_clock")
def test_mapping_names_a_missing_attribute_column(settings, files, run_cli, tools):
    path = files.csv("events.csv", ["user_id", "event", "timestamp"], [["u1", "e", "2025-05-01"]])
    mapping = files.raw(
        "m.toml", '[columns]\naccount_id = "user_id"\n[accounts.attributes]\nplan = "tier"\n'
    )

    result = run_cli(settings, "events", path, "--mapping", str(mapping))

    assert result.exit_code == 2
    assert "tier" in tools.error_text(result)


def test_mapping_accounts_section_is_checked(files):
    from tenure.errors import InputError
    from tenure.ingest.mapping import load_mapping

    good = load_mapping(files.raw("a.toml", '[accounts]\ncreate = true\nattributes = {plan = "p"}'))
    assert (good.create_accounts, good.account_attributes) == (True, {"plan": "p"})
    with pytest.raises(InputError, match="unknown key"):
        load_mapping(files.raw("b.toml", "[accounts]\ncreated = true\n"))
    with pytest.raises(InputError, match="true or false"):
        load_mapping(files.raw("c.toml", '[accounts]\ncreate = "yes"\n'))
    with pytest.raises(InputError, match="ignore must be a list"):
        load_mapping(files.raw("d.toml", 'ignore = "x"\n'))


@pytest.mark.usefixtures("frozen_clock", "any_seeded")
def test_contacts_resolve_and_accounts_are_created_on_either_app_db(
    any_settings, any_engine, files, run_import, tools
):
    from tenure.ingest.mapping import Mapping

    contacts = files.sample("contacts", "contacts.csv")
    assert run_import(any_settings, any_engine, "contacts", contacts).exit_code == 0
    path = files.csv(
        "usage.csv",
        ["message_id", "account_id", "contact_id", "email", "event", "timestamp", "seats"],
        [
            ["m1", "", "c2", "", "login", "2025-05-01T08:00:00Z", "3"],
            ["m2", "", "", "ann@acme.example", "login", "2025-05-01T09:00:00Z", ""],
            ["m3", "new-co", "", "", "signup", "2025-04-01T00:00:00Z", "1"],
        ],
    )

    result = run_import(
        any_settings, any_engine, "events", path, mapping=Mapping(create_accounts=True)
    )

    assert (result.exit_code, result.accounts_created, result.rows_inserted) == (0, 1, 3)
    events = tools.warehouse_events(any_settings)
    assert [(e["account_external_id"], json.loads(e["properties"])) for e in events] == [
        ("a2", {"seats": 3}),
        ("a1", {}),
        ("new-co", {"seats": 1}),
    ]
    created = tools.orm_rows(any_engine, Account, "external_id", "name", "created_at")
    assert ("new-co", "new-co", datetime(2025, 4, 1, tzinfo=UTC)) in created


@pytest.mark.usefixtures("frozen_clock")
def test_mapping_create_true_creates_accounts_without_the_flag(settings, engine, files, run_cli):
    path = files.csv("clickstream.csv", CLICKSTREAM_HEADER, CLICKSTREAM)
    mapping = files.raw(
        "create.toml", '[columns]\naccount_id = "user_id"\n[accounts]\ncreate = true\n'
    )

    result = run_cli(settings, "events", path, "--mapping", str(mapping))

    assert result.exit_code == 0, result.output
    assert "accounts created: 3" in result.stdout
    # without attributes mapped, the per-user columns stay event properties
    assert "ignored columns" not in result.stdout
