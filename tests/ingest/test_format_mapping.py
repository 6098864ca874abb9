"""Mapping files: renamed columns, translated values, defaults, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenure.accounts.models import Account, Subscription
from tenure.errors import InputError
from tenure.ingest.mapping import load_mapping

SALESFORCE_MAPPING = """
source = "salesforce"

[columns]
account_id = "Account ID"
name = "Account Name"
created_at = "Created Date"
industry = "Industry"
"""


SUBSCRIPTIONS_MAPPING = """
[columns]
subscription_id = "Id"
account_id = "Account"
plan = "Product"
status = "Status"
mrr = "Monthly Amount"
started_at = "Start Date"

[values.status]
Active = "active"
Cancelled = "canceled"
"Past Due" = "past_due"

[defaults]
currency = "USD"
"""


@pytest.mark.usefixtures("frozen_clock")
def test_mapping_file_translates_a_salesforce_export(settings, engine, files, check_import, tools):
    accounts = files.csv(
        "Account.csv",
        ["Account ID", "Account Name", "Created Date", "Industry", "Billing Country"],
        [
            ["001A000001", "Acme Corp", "2024-03-01T10:00:00.000+0000", "Technology", "US"],
            ["001A000002", "Beta LLC", "2024-04-15", "Finance", ""],
            ["001A000003", "Gamma", "2099-01-01", "Finance", "DE"],
        ],
    )
    mapping = files.raw("salesforce.toml", SALESFORCE_MAPPING)

    check_import(
        "accounts",
        accounts,
        [(4, "created_at", "timestamp in the future")],
        "--mapping",
        str(mapping),
    )
    assert tools.orm_rows(
        engine, Account, "external_id", "name", "created_at", "industry", "attributes", "source"
    ) == [
        (
            "001A000001",
            "Acme Corp",
            datetime(2024, 3, 1, 10, tzinfo=UTC),
            "Technology",
            {"Billing Country": "US"},
            "salesforce",
        ),
        ("001A000002", "Beta LLC", datetime(2024, 4, 15, tzinfo=UTC), "Finance", {}, "salesforce"),
    ]

    subscriptions = files.csv(
        "Subscriptions.csv",
        ["Id", "Account", "Product", "Status", "Monthly Amount", "Start Date"],
        [
            ["S-1", "001A000001", "Pro", "Active", "100.00", "2024-03-01"],
            ["S-2", "001A000002", "Basic", "Cancelled", "5.5", "2024-04-15"],
            ["S-3", "001A000002", "Basic", "ACTIVE", "5.5", "2024-04-15"],
            ["S-4", "001A000002", "Basic", "past due", "5.5", "2024-04-15"],
            ["S-5", "001A000002", "Basic", "Frozen", "5.5", "2024-04-15"],
        ],
    )
    mapping = files.raw("subscriptions.toml", SUBSCRIPTIONS_MAPPING)

    check_import(
        "subscriptions",
        subscriptions,
        [(6, "status", "invalid value 'frozen' (expected one of trialing, active, past_due")],
        "--mapping",
        str(mapping),
    )
    assert tools.orm_rows(engine, Subscription, "external_id", "status", "mrr", "currency") == [
        ("S-1", "active", 10000, "USD"),
        ("S-2", "canceled", 550, "USD"),
        ("S-3", "active", 550, "USD"),
        ("S-4", "past_due", 550, "USD"),
    ]


@pytest.mark.usefixtures("frozen_clock")
def test_mapping_that_names_a_missing_column_is_refused(settings, engine, files, run_cli, tools):
    accounts = files.csv(
        "Account.csv",
        ["Account ID", "Account Name", "Created Date"],
        [["001A000001", "Acme Corp", "2024-03-01"]],
    )
    mapping = files.raw(
        "bad.toml",
        SALESFORCE_MAPPING.replace('name = "Account Name"', 'name = "Acount Name"'),
    )

    result = run_cli(settings, "accounts", accounts, "--mapping", str(mapping))

    assert result.exit_code == 2, result.output
    message = tools.error_text(result)
    assert "the mapping sends 'name' to column 'Acount Name', which the file does not have" in (
        message
    )
    assert "columns found: Account ID, Account Name, Created Date" in message
    assert tools.rows(engine, "SELECT count(*) FROM account") == [(0,)]


@pytest.mark.usefixtures("frozen_clock")
def test_mapping_without_default_for_a_required_column_is_refused(
    settings, engine, files, run_cli, tools
):
    subscriptions = files.csv(
        "Subscriptions.csv",
        ["Id", "Account", "Product", "Status", "Monthly Amount", "Start Date"],
        [["S-1", "001A000001", "Pro", "Active", "100.00", "2024-03-01"]],
    )
    mapping = files.raw(
        "subs.toml", SUBSCRIPTIONS_MAPPING.replace('[defaults]\ncurrency = "USD"\n', "")
    )

    result = run_cli(settings, "subscriptions", subscriptions, "--mapping", str(mapping))

    assert result.exit_code == 2
    assert "missing required column(s) currency for subscriptions" in tools.error_text(result)


def test_invalid_mapping_files_are_refused(files):
    with pytest.raises(InputError, match="is not valid TOML"):
        load_mapping(files.raw("broken.toml", "[columns\nname = 1"))
    with pytest.raises(InputError, match=r"unknown section\(s\) \['colums'\]"):
        load_mapping(files.raw("typo.toml", '[colums]\nname = "Name"\n'))
    with pytest.raises(InputError, match="does not exist"):
        load_mapping(files.path("absent.toml"))
