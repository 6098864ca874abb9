"""Row-level validation: bad rows go to quarantine (DB + CSV) with field and reason, the rest land."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenure.accounts.models import Account, Invoice, Subscription
from tenure.money import to_minor

FROZEN_NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def any_seeded(any_settings, any_engine, files, run_import):
    """Import the sample accounts into any_settings' app DB (SQLite or PostgreSQL)."""
    result = run_import(any_settings, any_engine, "accounts", files.sample("accounts", "seed.csv"))
    assert result.exit_code == 0
    return any_settings


# --- 2. wrong types ---------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock", "any_seeded")
def test_wrong_types_are_quarantined_and_the_rest_lands(
    any_settings, any_engine, files, run_cli, tools
):
    path = files.csv(
        "subscriptions.csv",
        ["subscription_id", "account_id", "plan", "mrr", "currency", "quantity", "started_at"],
        [
            ["s1", "a1", "pro", "99.90", "USD", "2", "2024-01-01"],
            ["s2", "a1", "pro", "10", "USD", "abc", "2024-01-01"],
            ["s3", "a2", "pro", "12,5x", "USD", "1", "2024-01-01"],
            ["s4", "a2", "basic", "5", "EUR", "", "2024-01-01T00:00:00Z"],
            ["s5", "a3", "pro", "1.5", "USD", "-2", "2024-01-01"],
            ["s6", "a3", "pro", "", "USD", "1", "2024-01-01"],
            ["s7", "a3", "pro", "3", "USD", "1", "2024-01-01", "2024-01-01"],
        ],
    )
    # s7 has one field too many: the reader refuses that line.

    result = run_cli(any_settings, "subscriptions", path)

    assert result.exit_code == 3, result.output
    assert "7 read, 2 loaded (2 new, 0 existing), 5 quarantined" in result.stdout
    tools.assert_quarantined(
        any_settings,
        any_engine,
        path,
        [
            (3, "quantity", "not a whole number: 'abc'"),
            (4, "mrr", "not a decimal amount: '12,5x'"),
            (6, "quantity", "out of range: -2"),
            (7, "mrr", "missing required value"),
            (8, None, "too many columns"),
        ],
    )
    landed = tools.orm_rows(any_engine, Subscription, "external_id", "mrr", "currency", "quantity")
    assert landed == [("s1", 9990, "USD", 2), ("s4", 500, "EUR", 1)]
    run = tools.last_run(any_engine)
    assert (run.status, run.rows_read, run.rows_loaded) == ("partial", 7, 2)


@pytest.mark.usefixtures("frozen_clock", "seeded")
@pytest.mark.parametrize("quantity", ["2.5", "0x10"])
def test_fractional_quantity_is_not_a_whole_number(
    settings, engine, files, run_import, tools, quantity
):
    path = files.csv(
        "subscriptions.csv",
        ["subscription_id", "account_id", "plan", "mrr", "currency", "quantity", "started_at"],
        [["s1", "a1", "pro", "10", "USD", quantity, "2024-01-01"]],
    )

    result = run_import(settings, engine, "subscriptions", path)

    assert tools.orm_rows(engine, Subscription, "external_id", "quantity") == []
    assert result.exit_code == 2
    tools.assert_quarantined(settings, engine, path, [(2, "quantity", "not a whole number")])


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_wrong_enum_bool_email_and_range_are_quarantined(
    settings, engine, files, run_import, tools
):
    contacts = files.csv(
        "contacts.csv",
        ["contact_id", "account_id", "email", "consent_email"],
        [
            ["c10", "a1", "ok@x.example", "Yes"],
            ["c11", "a1", "not-an-email", "yes"],
            ["c12", "a1", "z@x.example", "perhaps"],
        ],
    )
    result = run_import(settings, engine, "contacts", contacts)
    assert result.exit_code == 3
    tools.assert_quarantined(
        settings,
        engine,
        contacts,
        [
            (3, "email", "not an email address: 'not-an-email'"),
            (4, "consent_email", "not a yes/no value: 'perhaps'"),
        ],
    )

    surveys = files.csv(
        "surveys.csv",
        ["response_id", "account_id", "kind", "score", "responded_at"],
        [
            ["r1", "a1", "NPS", "10", "2024-04-01"],
            ["r2", "a1", "nps", "11", "2024-04-01"],
            ["r3", "a1", "csat", "7", "2024-04-01"],
            ["r4", "a1", "ces", "3", "2024-04-01"],
        ],
    )
    result = run_import(settings, engine, "surveys", surveys)
    assert result.exit_code == 3
    tools.assert_quarantined(
        settings,
        engine,
        surveys,
        [
            (3, "score", "out of range: 11"),
            (4, "score", "CSAT score must be 1 to 5, got 7"),
            (5, "kind", "invalid value 'ces' (expected one of nps, csat)"),
        ],
    )
    assert tools.rows(engine, "SELECT external_id, kind, score FROM survey_response") == [
        ("r1", "nps", 10)
    ]


# --- 3. timestamps ----------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock")
def test_timestamps_parse_to_utc_and_bad_or_future_ones_are_quarantined(
    settings, engine, files, run_import, tools
):
    good = {
        "a1": ("2025-01-01T05:00:00+02:00", datetime(2025, 1, 1, 3, 0, tzinfo=UTC)),
        "a2": ("2024-02-29", datetime(2024, 2, 29, tzinfo=UTC)),
        "a3": ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        "a4": ("1700000000123", datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)),
        "a5": ("2024-06-01T12:00:00Z", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        "a6": ("2024-06-01 12:00:00", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        "a7": ("2024-06-01T12:00:00-05:30", datetime(2024, 6, 1, 17, 30, tzinfo=UTC)),
        "a8": ("2025-06-30T12:04:00Z", datetime(2025, 6, 30, 12, 4, tzinfo=UTC)),  # in tolerance
    }
    bad = [
        ("b1", "not a date", "unparseable timestamp 'not a date'"),
        ("b2", "2024-02-30", "unparseable timestamp '2024-02-30'"),
        ("b3", "2099-01-01T00:00:00Z", "timestamp in the future: 2099-01-01T00:00:00Z"),
        ("b4", "4102444800", "timestamp in the future: 2100-01-01T00:00:00Z"),
        ("b5", "2025-06-30T12:06:00Z", "timestamp in the future: 2025-06-30T12:06:00Z"),
        ("b6", "2025-06-30T14:30:00+02:00", "timestamp in the future: 2025-06-30T12:30:00Z"),
    ]
    rows = [[k, f"Name {k}", text] for k, (text, _) in good.items()]
    rows += [[k, f"Name {k}", text] for k, text, _ in bad]
    path = files.csv("accounts.csv", ["account_id", "name", "created_at"], rows)

    result = run_import(settings, engine, "accounts", path)

    assert result.exit_code == 3
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (14, 8, 6)
    found = tools.assert_quarantined(
        settings,
        engine,
        path,
        [(len(good) + 2 + i, "created_at", reason) for i, (_, _, reason) in enumerate(bad)],
    )
    assert "(use ISO 8601 or epoch seconds/milliseconds)" in found[0][3]
    landed = dict(tools.orm_rows(engine, Account, "external_id", "created_at"))
    assert landed == {k: instant for k, (_, instant) in good.items()}


# --- 4./5. money ------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock", "any_seeded")
def test_money_lands_in_minor_units_and_negative_amounts_are_quarantined(
    any_settings, any_engine, files, run_import, tools
):
    header = ["invoice_id", "account_id", "amount", "currency", "status", "issued_at"]
    path = files.csv(
        "invoices.csv",
        header,
        [
            ["i1", "a1", "12.34", "USD", "paid", "2024-05-01"],
            ["i2", "a1", "500", "JPY", "paid", "2024-05-01"],
            ["i3", "a2", "1.234", "KWD", "open", "2024-05-01"],
            ["i4", "a2", "-5", "USD", "paid", "2024-05-01"],
            ["i5", "a3", "0.1", "usd", "void", "2024-05-01"],
            ["i6", "a3", "0", "EUR", "refunded", "2024-05-01"],
            ["i7", "a3", "-0.01", "EUR", "refunded", "2024-05-01"],
        ],
    )

    result = run_import(any_settings, any_engine, "invoices", path)

    assert result.exit_code == 3
    tools.assert_quarantined(
        any_settings,
        any_engine,
        path,
        [(5, "amount", "negative amount '-5'"), (8, "amount", "negative amount '-0.01'")],
    )
    assert tools.orm_rows(any_engine, Invoice, "external_id", "amount", "currency") == [
        ("i1", 1234, "USD"),
        ("i2", 500, "JPY"),
        ("i3", 1234, "KWD"),
        ("i5", 10, "USD"),
        ("i6", 0, "EUR"),
    ]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_subscription_mrr_in_minor_units(settings, engine, files, run_import, tools):
    path = files.sample("subscriptions")

    result = run_import(settings, engine, "subscriptions", path)

    assert result.exit_code == 0
    assert tools.orm_rows(engine, Subscription, "external_id", "mrr", "currency", "status") == [
        ("s1", 9900, "USD", "active"),
        ("s2", 1050, "EUR", "canceled"),
        ("s3", 5000, "JPY", "active"),
    ]


@pytest.mark.usefixtures("frozen_clock", "seeded")
@pytest.mark.parametrize("kind", ["invoices", "subscriptions"])
@pytest.mark.parametrize("code", ["XYZ", "US", "dollar"])
def test_unknown_currency_is_quarantined(settings, engine, files, run_cli, tools, kind, code):
    if kind == "invoices":
        header = ["invoice_id", "account_id", "amount", "currency", "status", "issued_at"]
        rows = [
            ["i1", "a1", "10", code, "paid", "2024-05-01"],
            ["i2", "a1", "10", "GBP", "paid", "2024-05-01"],
        ]
    else:
        header = ["subscription_id", "account_id", "plan", "mrr", "currency", "started_at"]
        rows = [
            ["s1", "a1", "pro", "10", code, "2024-05-01"],
            ["s2", "a1", "pro", "10", "GBP", "2024-05-01"],
        ]
    path = files.csv(f"{kind}.csv", header, rows)

    result = run_cli(settings, kind, path)

    assert result.exit_code == 3, result.output
    tools.assert_quarantined(
        settings,
        engine,
        path,
        [(2, "currency", f"unknown currency '{code}' (expected an ISO 4217 code such as USD)")],
    )
    table = "invoice" if kind == "invoices" else "subscription"
    assert tools.rows(engine, f"SELECT external_id, currency FROM {table}") == [(rows[1][0], "GBP")]


# --- 6. duplicates ----------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock")
def test_duplicate_id_in_a_file_quarantines_the_later_occurrences(
    settings, engine, files, run_cli, tools
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

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 3, result.output
    tools.assert_quarantined(
        settings,
        engine,
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
def test_duplicate_id_in_jsonl_names_the_first_line(settings, engine, files, run_import, tools):
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

    result = run_import(settings, engine, "invoices", path)

    assert result.exit_code == 3
    tools.assert_quarantined(
        settings,
        engine,
        path,
        [(3, "invoice_id", "duplicate invoice_id 'i1' in this file (first at line 1)")],
    )


# --- 7. references ----------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock", "seeded")
@pytest.mark.parametrize("with_message_id", [True, False])
def test_events_for_unknown_accounts_are_quarantined_and_valid_ones_land(
    settings, engine, files, run_cli, tools, with_message_id
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

    result = run_cli(settings, "events", path)

    assert result.exit_code == 3, result.output
    tools.assert_quarantined(
        settings,
        engine,
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
    settings, engine, files, run_import, tools
):
    subs = files.csv(
        "subscriptions.csv",
        ["subscription_id", "account_id", "plan", "mrr", "currency", "started_at"],
        [
            ["s1", "nobody", "pro", "1", "USD", "2024-01-01"],
            ["s2", "a1", "pro", "1", "USD", "2024-01-01"],
        ],
    )
    result = run_import(settings, engine, "subscriptions", subs)
    assert result.exit_code == 3
    tools.assert_quarantined(
        settings, engine, subs, [(2, "account_id", "unknown account 'nobody'")]
    )
    assert tools.rows(engine, "SELECT external_id FROM subscription") == [("s2",)]

    tickets = files.csv(
        "tickets.csv",
        ["ticket_id", "account_id", "contact_id", "opened_at"],
        [["t1", "a1", "c404", "2024-01-01"], ["t2", "a1", "c1", "2024-01-01"]],
    )
    result = run_import(settings, engine, "tickets", tickets)
    assert result.exit_code == 3
    tools.assert_quarantined(
        settings, engine, tickets, [(2, "contact_id", "unknown contact 'c404'")]
    )
    assert tools.rows(engine, "SELECT external_id, priority, status FROM ticket") == [
        ("t2", "normal", "open")
    ]


@pytest.mark.usefixtures("frozen_clock")
def test_all_rows_invalid_exits_2(settings, engine, files, run_cli, tools):
    path = files.csv(
        "accounts.csv", ["account_id", "name", "created_at"], [["a1", "A", "soon"], ["a2", "", "x"]]
    )

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 2, result.output
    tools.assert_quarantined(
        settings,
        engine,
        path,
        [(2, "created_at", "unparseable timestamp 'soon'"), (3, "name", "missing required value")],
    )
    assert tools.last_run(engine).status == "failed"
    assert tools.rows(engine, "SELECT count(*) FROM account") == [(0,)]


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("value", ["1e20", "99999999999999999999", "-infinity", "-1e15"])
def test_out_of_range_timestamps_are_quarantined(settings, engine, files, run_import, tools, value):
    path = files.csv(
        "accounts.csv",
        ["account_id", "name", "created_at"],
        [["a1", "Acme", "2024-01-01"], ["a2", "Beta", value]],
    )

    result = run_import(settings, engine, "accounts", path)

    assert result.exit_code == 3
    tools.assert_quarantined(settings, engine, path, [(3, "created_at", "timestamp")])
    assert tools.rows(engine, "SELECT external_id FROM account") == [("a1",)]


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_sub_minor_amounts_round_like_money_to_minor(settings, engine, files, run_import, tools):
    amounts = [("12.345", "USD"), ("0.125", "USD"), ("2.5", "JPY"), ("1.0005", "KWD")]
    path = files.csv(
        "invoices.csv",
        ["invoice_id", "account_id", "amount", "currency", "status", "issued_at"],
        [[f"i{n}", "a1", a, c, "paid", "2024-05-01"] for n, (a, c) in enumerate(amounts)],
    )

    result = run_import(settings, engine, "invoices", path)

    assert result.exit_code == 0
    assert [amount for _, amount in tools.orm_rows(engine, Invoice, "external_id", "amount")] == [
        to_minor(a, c) for a, c in amounts
    ]
