"""`tenure import` prints why rows were quarantined: grouped reasons and the first lines."""

from __future__ import annotations

import re

import pytest

from tenure.cli.main import app

WIDE = {"COLUMNS": "200"}


def table_rows(output: str, title: str) -> list[list[str]]:
    """Return the cells of the Rich table printed under TITLE."""
    lines = output.splitlines()
    start = lines.index(title)
    rows = []
    for line in lines[start + 4 :]:
        if not line.startswith("│"):
            break
        rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


@pytest.mark.usefixtures("frozen_clock")
def test_import_prints_grouped_reasons_and_first_rejected_lines(cli, settings, files):
    path = files.csv(
        "accounts.csv",
        ["account_id", "name", "created_at"],
        [
            ["a1", "Acme", "2024-01-01"],
            ["a2", "Beta", "yesterday-ish"],
            ["a3", "Gamma", "someday"],
            ["", "No id", "2024-01-02"],
            ["a5", "Epsilon", "never"],
            ["a6", "Zeta", "2024-01-03"],
        ],
    )
    args = ["--data-dir", str(settings.data_dir), "import", "accounts", str(path)]
    result = cli.invoke(app, args, env=WIDE)
    assert result.exit_code == 3, result.output
    assert "6 read, 2 loaded" in result.stdout

    reasons = table_rows(result.stdout, "Why rows were quarantined")
    assert [(field, rows) for field, _, rows, _ in reasons] == [
        ("created_at", "3"),
        ("account_id", "1"),
    ]
    assert reasons[0][1].startswith("unparseable timestamp …")
    assert reasons[0][3] == "'yesterday-ish'"
    assert reasons[1][1] == "missing required value"

    first = table_rows(result.stdout, "First 4 of 4 quarantined rows")
    assert [(line, field) for line, field, _ in first] == [
        ("3", "created_at"),
        ("4", "created_at"),
        ("5", "account_id"),
        ("6", "created_at"),
    ]
    assert "'someday'" in first[1][2]
    assert re.search(r"all of them: tenure import quarantine \d+", result.stdout)


@pytest.mark.usefixtures("frozen_clock")
def test_first_lines_are_capped_and_a_clean_import_prints_no_tables(cli, settings, files):
    bad = [[f"a{i}", "Acme", f"day {i}"] for i in range(8)]
    path = files.csv("accounts.csv", ["account_id", "name", "created_at"], bad)
    data = ["--data-dir", str(settings.data_dir)]
    result = cli.invoke(app, [*data, "import", "accounts", str(path)], env=WIDE)
    assert result.exit_code == 2, result.output
    assert table_rows(result.stdout, "Why rows were quarantined")[0][2] == "8"
    assert len(table_rows(result.stdout, "First 5 of 8 quarantined rows")) == 5

    good = files.csv(
        "good.csv", ["account_id", "name", "created_at"], [["b1", "Bee", "2024-01-01"]]
    )
    clean = cli.invoke(app, [*data, "import", "accounts", str(good)], env=WIDE)
    assert clean.exit_code == 0, clean.output
    assert "quarantined rows" not in clean.stdout
