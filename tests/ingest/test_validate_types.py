"""Row validation of types: numbers, enums, booleans, emails, ranges and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenure.accounts.models import Account, Subscription


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
    settings, engine, files, check_import, tools
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
    check_import(
        "contacts",
        contacts,
        [
            (3, "email", "not an email address: 'not-an-email'"),
            (4, "consent_email", "not a yes/no value: 'perhaps'"),
        ],
        cli=False,
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
    check_import(
        "surveys",
        surveys,
        [
            (3, "score", "out of range: 11"),
            (4, "score", "CSAT score must be 1 to 5, got 7"),
            (5, "kind", "invalid value 'ces' (expected one of nps, csat)"),
        ],
        cli=False,
    )
    assert tools.rows(engine, "SELECT external_id, kind, score FROM survey_response") == [
        ("r1", "nps", 10)
    ]


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


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("value", ["1e20", "99999999999999999999", "-infinity", "-1e15"])
def test_out_of_range_timestamps_are_quarantined(
    settings, engine, files, check_import, tools, value
):
    path = files.csv(
        "accounts.csv",
        ["account_id", "name", "created_at"],
        [["a1", "Acme", "2024-01-01"], ["a2", "Beta", value]],
    )

    check_import("accounts", path, [(3, "created_at", "timestamp")], cli=False)
    assert tools.rows(engine, "SELECT external_id FROM account") == [("a1",)]


@pytest.mark.usefixtures("frozen_clock")
def test_all_rows_invalid_exits_2(settings, engine, files, check_import, tools):
    path = files.csv(
        "accounts.csv", ["account_id", "name", "created_at"], [["a1", "A", "soon"], ["a2", "", "x"]]
    )

    check_import(
        "accounts",
        path,
        [(2, "created_at", "unparseable timestamp 'soon'"), (3, "name", "missing required value")],
        code=2,
    )
    assert tools.last_run(engine).status == "failed"
    assert tools.rows(engine, "SELECT count(*) FROM account") == [(0,)]
