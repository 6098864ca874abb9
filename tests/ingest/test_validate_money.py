"""Row validation of money: amounts in minor units, negative amounts, ISO currencies."""

from __future__ import annotations

import pytest

from tenure.accounts.models import Invoice, Subscription
from tenure.money import to_minor


@pytest.mark.usefixtures("frozen_clock", "any_seeded")
def test_money_lands_in_minor_units_and_negative_amounts_are_quarantined(
    any_settings, any_engine, files, check_import, tools
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

    check_import(
        "invoices",
        path,
        [(5, "amount", "negative amount '-5'"), (8, "amount", "negative amount '-0.01'")],
        cli=False,
        settings=any_settings,
        engine=any_engine,
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
def test_unknown_currency_is_quarantined(settings, engine, files, check_import, tools, kind, code):
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

    check_import(
        kind,
        path,
        [(2, "currency", f"unknown currency '{code}' (expected an ISO 4217 code such as USD)")],
    )
    table = "invoice" if kind == "invoices" else "subscription"
    assert tools.rows(engine, f"SELECT external_id, currency FROM {table}") == [(rows[1][0], "GBP")]


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
