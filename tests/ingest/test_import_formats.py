"""Input formats and encodings: CSV oddities, JSONL, Parquet, mapping files, line numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.accounts.models import Account, Subscription
from tenure.errors import InputError
from tenure.ingest.mapping import load_mapping

ACCOUNT_HEADER = b"account_id,name,created_at\n"


# --- 9. encoding ------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("bad_bytes", [b"\xff\xfe", b"\xc3\x28", b"caf\xe9"])
def test_non_utf8_row_is_quarantined_and_the_others_land(
    settings, engine, files, run_cli, tools, bad_bytes
):
    path = files.raw(
        "accounts.csv",
        ACCOUNT_HEADER
        + b"a1,Acme,2024-01-01\n"
        + b"a2,Be"
        + bad_bytes
        + b"ta,2024-01-01\n"
        + b"a3,Caf\xc3\xa9 Gamma,2024-01-01\n"
        + b"a4,Delta,2024-01-01\n",
    )

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 3, result.output
    found = tools.assert_quarantined(settings, engine, path, [(3, "name", "UTF-8")])
    assert found[0][3] == "not valid UTF-8 text (re-save the file as UTF-8)"
    assert tools.orm_rows(engine, Account, "external_id", "name") == [
        ("a1", "Acme"),
        ("a3", "Café Gamma"),
        ("a4", "Delta"),
    ]


@pytest.mark.usefixtures("frozen_clock")
def test_bom_crlf_and_semicolons_via_mapping(settings, engine, files, run_cli, tools):
    bom = files.raw(
        "bom.csv",
        b"\xef\xbb\xbfaccount_id,name,created_at\r\na1,Acme,2024-01-01\r\na2,Beta,never\r\n",
    )
    result = run_cli(settings, "accounts", bom)
    assert result.exit_code == 3, result.output
    tools.assert_quarantined(settings, engine, bom, [(3, "created_at", "unparseable")])

    semi = files.raw("semi.csv", "account_id;name;created_at\na9;Acme, Inc;2024-01-01\n")
    mapping = files.raw("semi.toml", '[csv]\ndelimiter = ";"\n')
    result = run_cli(settings, "accounts", semi, "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert tools.orm_rows(engine, Account, "external_id", "name") == [
        ("a1", "Acme"),
        ("a9", "Acme, Inc"),
    ]


# --- 13. line numbers after rejected lines ---------------------------------------------------

_LINE_CASES = {
    "too-many-columns": (b"a2,Beta,2024-01-01,surplus\n", None, "too many columns"),
    "too-few-columns": (b"a2,Beta\n", "created_at", "missing columns"),
    "blank-line": (b"\n", None, None),
    "non-utf8": (b"a2,B\xff\xfeta,2024-01-01\n", "name", "not valid UTF-8"),
    "quoted-newline": (b'a2,"Beta\nCorp",2024-01-01\n', None, None),
}


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("case", list(_LINE_CASES))
def test_csv_line_numbers_after_a_rejected_or_odd_line(
    settings, engine, files, run_cli, tools, case
):
    odd, field, reason = _LINE_CASES[case]
    extra = odd.count(b"\n") - 1  # physical lines beyond one that the odd record takes
    path = files.raw(
        "accounts.csv",
        ACCOUNT_HEADER
        + b"a1,Acme,2024-01-01\n"  # line 2
        + odd  # line 3 (and more)
        + b"a3,Gamma,yesterday\n"  # line 4 + extra
        + b"a4,Delta,2024-01-01\n"  # line 5 + extra
        + b"a5,Eps,tomorrow\n"  # line 6 + extra
        + b"a6,Zeta,2024-01-01\n"  # line 7 + extra
        + b"a7,Eta,someday\n",  # line 8 + extra
    )

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 3, result.output
    expected = [(3, field, reason)] if reason else []
    expected += [
        (4 + extra, "created_at", "unparseable timestamp 'yesterday'"),
        (6 + extra, "created_at", "unparseable timestamp 'tomorrow'"),
        (8 + extra, "created_at", "unparseable timestamp 'someday'"),
    ]
    tools.assert_quarantined(settings, engine, path, expected)


@pytest.mark.usefixtures("frozen_clock")
def test_csv_line_numbers_after_multi_line_records_with_rejects_and_escapes(
    settings, engine, files, run_cli, tools
):
    """Fields spanning 2 and 3 lines, an escaped quote, then a record DuckDB rejects."""
    path = files.raw(
        "accounts.csv",
        ACCOUNT_HEADER
        + b'a1,"Acme ""Big""\nCorp",2024-01-01\n'  # lines 2-3
        + b'a2,"Beta\n\nCorp",2024-01-01\n'  # lines 4-6 (a blank line inside the quotes)
        + b"a3,Gamma,yesterday\n"  # line 7
        + b"a4,Delta,2024-01-01,surplus\n"  # line 8: too many columns
        + b"a5,Eps,tomorrow\n",  # line 9
    )
    result = run_cli(settings, "accounts", path)
    assert result.exit_code == 3, result.output
    tools.assert_quarantined(
        settings,
        engine,
        path,
        [
            (7, "created_at", "unparseable timestamp 'yesterday'"),
            (8, None, "too many columns"),
            (9, "created_at", "unparseable timestamp 'tomorrow'"),
        ],
    )


@pytest.mark.usefixtures("frozen_clock")
def test_csv_line_numbers_with_a_backslash_escape(settings, engine, files, run_cli, tools):
    """With escape = "\\" a \\" inside quotes is no quote: the parity of quotes stays right."""
    path = files.raw(
        "semi.csv",
        ACCOUNT_HEADER
        + b'a1,"Acme \\"Big\nCorp",2024-01-01\n'  # lines 2-3: 2 quote characters on line 2
        + b"a2,Beta,someday\n",  # line 4
    )
    mapping = files.raw("escape.toml", '[csv]\nescape = "\\\\"\n')
    result = run_cli(settings, "accounts", path, "--mapping", str(mapping))
    assert result.exit_code == 3, result.output
    tools.assert_quarantined(
        settings, engine, path, [(4, "created_at", "unparseable timestamp 'someday'")]
    )


# --- 11. JSONL and Parquet --------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock", "seeded")
def test_jsonl_bad_lines_are_quarantined_with_their_line_numbers(
    settings, engine, files, run_cli, tools
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

    result = run_cli(settings, "events", path)

    assert result.exit_code == 3, result.output
    found = tools.assert_quarantined(
        settings,
        engine,
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
    assert "ignored columns: unknown_key" in result.stdout


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
    settings, engine, files, run_cli, tools
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
        result = run_cli(settings, "subscriptions", source)
        assert result.exit_code == 3, result.output
        tools.assert_quarantined(
            settings,
            engine,
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


# --- 12. mapping files ------------------------------------------------------------------------

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
def test_mapping_file_translates_a_salesforce_export(settings, engine, files, run_cli, tools):
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

    result = run_cli(settings, "accounts", accounts, "--mapping", str(mapping))

    assert result.exit_code == 3, result.output
    tools.assert_quarantined(
        settings, engine, accounts, [(4, "created_at", "timestamp in the future")]
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

    result = run_cli(settings, "subscriptions", subscriptions, "--mapping", str(mapping))

    assert result.exit_code == 3, result.output
    tools.assert_quarantined(
        settings,
        engine,
        subscriptions,
        [(6, "status", "invalid value 'frozen' (expected one of trialing, active, past_due")],
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


def test_lines_at_counts_newlines_across_read_chunks(tmp_path) -> None:
    """Byte offsets map to the same lines whatever the read size (CRLF lines count once)."""
    from tenure.ingest.reader import lines_at

    data = b"h\r\nab\n\ncd\r\nef\n"
    path = tmp_path / "lines.csv"
    path.write_bytes(data)
    offsets = [0, 3, 6, 7, 11, 14, 99]
    expected = {o: data[:o].count(b"\n") + 1 for o in offsets}
    for chunk in (1, 2, 3, 5, 1 << 24):
        assert lines_at(path, offsets, chunk=chunk) == expected, chunk
    assert expected[7] == 4 and expected[11] == 5
