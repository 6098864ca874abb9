"""File-level failures of `tenure import`: the whole file is refused, exit 2, nothing lands."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pytest

from tenure.errors import InputError

TABLES = {"accounts": "account", "subscriptions": "subscription", "invoices": "invoice"}


def _landed(tools, settings, engine, kind: str) -> int:
    if kind == "events":
        return tools.event_count(settings)
    return tools.rows(engine, f"SELECT count(*) FROM {TABLES[kind]}")[0][0]


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    ("kind", "dropped"),
    [("accounts", "name"), ("subscriptions", "mrr"), ("invoices", "currency"), ("events", "event")],
)
def test_missing_required_column_refuses_the_file(
    request, settings, engine, files, run_cli, tools, kind, dropped
):
    if kind != "accounts":
        request.getfixturevalue("seeded")
    header, data = tools.sample[kind]
    keep = [i for i, column in enumerate(header) if column != dropped]
    path = files.csv(
        f"{kind}.csv", [header[i] for i in keep], [[row[i] for i in keep] for row in data]
    )

    result = run_cli(settings, kind, path)

    assert result.exit_code == 2, result.output
    message = tools.error_text(result)
    assert f"missing required column(s) {dropped} for {kind}" in message
    assert str(path) in message
    assert "nothing was imported" in message
    assert _landed(tools, settings, engine, kind) == 0
    run = tools.last_run(engine)
    assert (run.kind, run.status) == (kind, "failed")
    assert f"missing required column(s) {dropped}" in run.error
    assert tools.quarantine_db(engine, run.id) == []
    assert not list(settings.imports_dir.glob("*quarantine.csv"))


@pytest.mark.usefixtures("frozen_clock")
def test_missing_required_column_names_every_missing_column(
    settings, engine, files, run_cli, tools
):
    path = files.csv("accounts.csv", ["account_id", "industry"], [["a1", "software"]])

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 2
    message = tools.error_text(result)
    assert "missing required column(s) name, created_at for accounts" in message
    assert "columns found: account_id, industry" in message
    assert tools.rows(engine, "SELECT count(*) FROM account") == [(0,)]


@pytest.mark.usefixtures("frozen_clock")
def test_missing_required_column_through_the_service_raises_input_error(
    settings, engine, files, run_import
):
    path = files.csv("accounts.csv", ["account_id", "created_at"], [["a1", "2024-01-01"]])

    with pytest.raises(InputError, match=r"missing required column\(s\) name for accounts"):
        run_import(settings, engine, "accounts", path)


def _empty_parquet(files, name):
    schema = pa.schema(
        [("account_id", pa.string()), ("name", pa.string()), ("created_at", pa.string())]
    )
    return files.parquet(name, schema.empty_table())


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("empty.csv", lambda f, n: f.raw(n, b""), "the file is empty; nothing was imported"),
        ("empty.jsonl", lambda f, n: f.raw(n, b""), "the file is empty; nothing was imported"),
        (
            "header.csv",
            lambda f, n: f.raw(n, "account_id,name,created_at\n"),
            "no data rows (only a header or blank lines)",
        ),
        (
            "header-blank.csv",
            lambda f, n: f.raw(n, "account_id,name,created_at\n\n\n"),
            "no data rows",
        ),
        ("blank.jsonl", lambda f, n: f.raw(n, "\n\n"), "no data rows"),
        ("empty.csv.gz", lambda f, n: f.gz(n, b""), "the file is empty once decompressed"),
        ("empty.parquet", _empty_parquet, "no data rows"),
    ],
)
def test_empty_or_header_only_file_is_refused(
    settings, engine, files, run_cli, tools, name, make, expected
):
    path = make(files, name)

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 2, result.output
    message = tools.error_text(result)
    assert expected in message
    assert str(path) in message
    assert tools.rows(engine, "SELECT count(*) FROM account") == [(0,)]
    assert tools.last_run(engine).status == "failed"


@pytest.mark.usefixtures("frozen_clock")
def test_nonexistent_file_and_unknown_suffix_are_refused(settings, files, run_cli, tools):
    missing = run_cli(settings, "accounts", files.path("nope.csv"))
    assert missing.exit_code == 2
    assert "no such file" in tools.error_text(missing)

    odd = files.raw("accounts.xlsx", "account_id,name,created_at\na1,A,2024-01-01\n")
    unknown = run_cli(settings, "accounts", odd)
    assert unknown.exit_code == 2
    assert "cannot tell the format from the name" in tools.error_text(unknown)


def _big_accounts_csv(rows: int = 3000) -> bytes:
    lines = ["account_id,name,created_at"] + [
        f"a{i},Account number {i},2024-01-01T00:00:{i % 60:02d}Z" for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("cut", [1, 4, 8, 200, "half"])
def test_truncated_gzip_is_refused_and_nothing_lands(settings, engine, files, run_cli, tools, cut):
    whole = gzip.compress(_big_accounts_csv())
    keep = len(whole) // 2 if cut == "half" else len(whole) - cut
    path = files.raw("accounts.csv.gz", whole[:keep])

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 2, result.output
    message = tools.error_text(result)
    assert "the gzip stream is truncated" in message
    assert "nothing was imported" in message
    assert tools.rows(engine, "SELECT count(*) FROM account") == [(0,)]
    run = tools.last_run(engine)
    assert run.status == "failed"
    assert "truncated" in run.error
    assert not list((settings.data_dir / "tmp").glob("import-*")), "scratch copy left behind"


@pytest.mark.usefixtures("frozen_clock")
def test_truncated_gzip_of_events_is_refused(settings, engine, seeded, files, run_cli, tools):
    header, data = tools.sample["events"]
    whole = gzip.compress(files.csv_text(header, data * 1).encode())
    path = files.raw("events.csv.gz", whole[:-6])

    result = run_cli(settings, "events", path)

    assert result.exit_code == 2
    assert "truncated" in tools.error_text(result)
    assert tools.event_count(settings) == 0


@pytest.mark.usefixtures("frozen_clock")
def test_file_named_gz_that_is_not_gzip_is_refused(settings, engine, files, run_cli, tools):
    path = files.raw("accounts.csv.gz", _big_accounts_csv(5))

    result = run_cli(settings, "accounts", path)

    assert result.exit_code == 2
    assert "not a readable gzip file" in tools.error_text(result)
    assert tools.rows(engine, "SELECT count(*) FROM account") == [(0,)]


@pytest.mark.usefixtures("frozen_clock")
def test_good_gzip_csv_and_jsonl_import(settings, engine, files, run_cli, tools):
    header, data = tools.sample["accounts"]
    accounts = files.csv("accounts.csv.gz", header, data)

    result = run_cli(settings, "accounts", accounts)

    assert result.exit_code == 0, result.output
    assert tools.rows(engine, "SELECT external_id, name FROM account ORDER BY external_id") == [
        ("a1", "Acme"),
        ("a2", "Beta"),
        ("a3", "Gamma"),
    ]
    header, data = tools.sample["events"]
    records = [{k: v for k, v in zip(header, row, strict=True) if v != ""} for row in data]
    events = files.jsonl("events.jsonl.gz", records)

    result = run_cli(settings, "events", events)

    assert result.exit_code == 0, result.output
    landed = tools.warehouse_events(settings)
    assert [(e["message_id"], e["account_external_id"], e["name"]) for e in landed] == [
        ("e1", "a1", "login"),
        ("e2", "a1", "report.viewed"),
        ("e3", "a2", "login"),
    ]
    run = tools.last_run(engine)
    assert (run.status, run.rows_read, run.rows_loaded) == ("succeeded", 3, 3)
    assert not list((settings.data_dir / "tmp").glob("import-*")), "scratch copy left behind"
