"""CSV input: encodings, BOM, CRLF, delimiters, and quarantine line numbers after odd lines."""

from __future__ import annotations

import pytest

from tenure.accounts.models import Account
from tenure.ingest.reader import lines_at

ACCOUNT_HEADER = b"account_id,name,created_at\n"


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("bad_bytes", [b"\xff\xfe", b"\xc3\x28", b"caf\xe9"])
def test_non_utf8_row_is_quarantined_and_the_others_land(
    settings, engine, files, check_import, tools, bad_bytes
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

    found = check_import("accounts", path, [(3, "name", "UTF-8")]).quarantined
    assert found[0][3] == "not valid UTF-8 text (re-save the file as UTF-8)"
    assert tools.orm_rows(engine, Account, "external_id", "name") == [
        ("a1", "Acme"),
        ("a3", "Café Gamma"),
        ("a4", "Delta"),
    ]


@pytest.mark.usefixtures("frozen_clock")
def test_bom_crlf_and_semicolons_via_mapping(settings, engine, files, check_import, run_cli, tools):
    bom = files.raw(
        "bom.csv",
        b"\xef\xbb\xbfaccount_id,name,created_at\r\na1,Acme,2024-01-01\r\na2,Beta,never\r\n",
    )
    result = check_import("accounts", bom, [(3, "created_at", "unparseable")]).result

    semi = files.raw("semi.csv", "account_id;name;created_at\na9;Acme, Inc;2024-01-01\n")
    mapping = files.raw("semi.toml", '[csv]\ndelimiter = ";"\n')
    result = run_cli(settings, "accounts", semi, "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert tools.orm_rows(engine, Account, "external_id", "name") == [
        ("a1", "Acme"),
        ("a9", "Acme, Inc"),
    ]


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
    settings, engine, files, check_import
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
    check_import(
        "accounts",
        path,
        [
            (7, "created_at", "unparseable timestamp 'yesterday'"),
            (8, None, "too many columns"),
            (9, "created_at", "unparseable timestamp 'tomorrow'"),
        ],
    )


@pytest.mark.usefixtures("frozen_clock")
def test_csv_line_numbers_with_a_backslash_escape(settings, engine, files, check_import):
    """With escape = "\\" a \\" inside quotes is no quote: the parity of quotes stays right."""
    path = files.raw(
        "semi.csv",
        ACCOUNT_HEADER
        + b'a1,"Acme \\"Big\nCorp",2024-01-01\n'  # lines 2-3: 2 quote characters on line 2
        + b"a2,Beta,someday\n",  # line 4
    )
    mapping = files.raw("escape.toml", '[csv]\nescape = "\\\\"\n')
    check_import(
        "accounts",
        path,
        [(4, "created_at", "unparseable timestamp 'someday'")],
        "--mapping",
        str(mapping),
    )


def test_lines_at_counts_newlines_across_read_chunks(tmp_path) -> None:
    """Byte offsets map to the same lines whatever the read size (CRLF lines count once)."""
    data = b"h\r\nab\n\ncd\r\nef\n"
    path = tmp_path / "lines.csv"
    path.write_bytes(data)
    offsets = [0, 3, 6, 7, 11, 14, 99]
    expected = {o: data[:o].count(b"\n") + 1 for o in offsets}
    for chunk in (1, 2, 3, 5, 1 << 24):
        assert lines_at(path, offsets, chunk=chunk) == expected, chunk
    assert expected[7] == 4 and expected[11] == 5
