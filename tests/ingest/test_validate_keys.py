"""Row validation of keys: duplicate ids in a file, references to unknown accounts or contacts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenure.accounts.models import Account

FROZEN_NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


@pytest.mark.usefixtures("frozen_clock")
def test_duplicate_id_in_a_file_quarantines_the_later_occurrences(
    settings, engine, files, check_import, tools
):
    path = files.csv(
        "accounts.csv",
        ["account_id", "name", "created_at"],
        [
            ["a1", "First", "2024-01-01"],
            ["a2", "Second", "2024-01-01"],
            ["a1", "First again", "2024-01-02"],
            ["a3", "Third", "2024-01-01"],
            ["a2", "Second again", "2024-01-02"],
            ["a1", "First thrice", "2024-01-03"],
        ],
    )

    check_import(
        "accounts",
        path,
        [
            (4, "account_id", "duplicate account_id 'a1' in this file (first at line 2)"),
            (6, "account_id", "duplicate account_id 'a2' in this file (first at line 3)"),
            (7, "account_id", "duplicate account_id 'a1' in this file (first at line 2)"),
        ],
    )
    assert tools.orm_rows(engine, Account, "external_id", "name") == [
        ("a1", "First"),
        ("a2", "Second"),
        ("a3", "Third"),
    ]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_duplicate_id_in_jsonl_names_the_first_line(settings, engine, files, check_import):
    base = {
        "account_id": "a1",
        "amount": "1",
        "currency": "USD",
        "status": "paid",
        "issued_at": "2024-05-01",
    }
    path = files.jsonl(
        "invoices.jsonl",
        [{**base, "invoice_id": "i1"}, {**base, "invoice_id": "i2"}, {**base, "invoice_id": "i1"}],
    )

    check_import(
        "invoices",
        path,
        [(3, "invoice_id", "duplicate invoice_id 'i1' in this file (first at line 1)")],
        cli=False,
    )


@pytest.mark.usefixtures("frozen_clock", "seeded")
@pytest.mark.parametrize("with_message_id", [True, False])
def test_events_for_unknown_accounts_are_quarantined_and_valid_ones_land(
    settings, engine, files, check_import, tools, with_message_id
):
    header = ["message_id", "account_id", "contact_id", "event", "timestamp", "properties"]
    data = [
        ["e1", "a1", "c1", "login", "2024-05-01T10:00:00+02:00", '{"ip": "10.0.0.1"}'],
        ["e2", "ghost", "", "login", "2024-05-01T08:00:00Z", ""],
        ["e3", "a2", "", "export", "1714550400", ""],
        ["e4", "a1", "", "logout", "1714550400000", '{"n": 2}'],
        ["e5", "a2", "", "bad props", "2024-05-01", "[1, 2]"],
    ]
    if not with_message_id:
        header, data = header[1:], [row[1:] for row in data]
    path = files.csv("events.csv", header, data)

    check_import(
        "events",
        path,
        [
            (3, "account_id", "unknown account 'ghost' (import its account first)"),
            (6, "properties", "not a JSON object: '[1, 2]'"),
        ],
    )
    ids = dict(tools.rows(engine, "SELECT external_id, id FROM account"))
    run = tools.last_run(engine)
    landed = sorted(
        (
            (
                e["account_external_id"],
                e["account_id"],
                e["contact_external_id"],
                e["name"],
                e["ts"],
                e["source"],
                e["received_at"],
                e["import_run_id"],
            )
            for e in tools.warehouse_events(settings)
        ),
        key=lambda e: (e[0], e[3]),
    )
    t1 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert landed == [
        ("a1", ids["a1"], "c1", "login", t1, "file", FROZEN_NOW, run.id),
        ("a1", ids["a1"], None, "logout", t1, "file", FROZEN_NOW, run.id),
        ("a2", ids["a2"], None, "export", t1, "file", FROZEN_NOW, run.id),
    ]
    if with_message_id:
        assert [e["message_id"] for e in tools.warehouse_events(settings)] == ["e1", "e3", "e4"]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_entities_for_unknown_accounts_or_contacts_are_quarantined(
    settings, engine, files, check_import, tools
):
    subs = files.csv(
        "subscriptions.csv",
        ["subscription_id", "account_id", "plan", "mrr", "currency", "started_at"],
        [
            ["s1", "nobody", "pro", "1", "USD", "2024-01-01"],
            ["s2", "a1", "pro", "1", "USD", "2024-01-01"],
        ],
    )
    check_import("subscriptions", subs, [(2, "account_id", "unknown account 'nobody'")], cli=False)
    assert tools.rows(engine, "SELECT external_id FROM subscription") == [("s2",)]

    tickets = files.csv(
        "tickets.csv",
        ["ticket_id", "account_id", "contact_id", "opened_at"],
        [["t1", "a1", "c404", "2024-01-01"], ["t2", "a1", "c1", "2024-01-01"]],
    )
    check_import("tickets", tickets, [(2, "contact_id", "unknown contact 'c404'")], cli=False)
    assert tools.rows(engine, "SELECT external_id, priority, status FROM ticket") == [
        ("t2", "normal", "open")
    ]
