"""Read CLV inputs: a summary CSV, or a transactions CSV summarised in DuckDB SQL.

Every value is read as text and cast in SQL, so a bad cell is reported with its file, line
(1 = the header) and column instead of a type error from deep inside a parser.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from tenure.errors import InputError
from tenure.reports.clv.data import Summary, validate

SUMMARY_COLUMNS = ("frequency", "recency", "T")
ID_NAMES = ("id", "customer", "customer_id", "customer id", "account_id")


def _connect() -> duckdb.DuckDBPyConnection:
    """Return an in-memory DuckDB connection."""
    return duckdb.connect(":memory:")


def _load(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Load PATH as all-text table `raw` with a 1-based `_line`; return its column names."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        con.execute(
            "CREATE TABLE raw AS SELECT *, row_number() OVER () + 1 AS _line "
            "FROM read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from exc
    return [row[0] for row in con.execute("DESCRIBE raw").fetchall() if row[0] != "_line"]


def _first_bad(con, path: Path, column: str, cast: str) -> None:
    """Raise InputError naming the first row whose COLUMN is empty or fails the CAST."""
    quoted = '"' + column.replace('"', '""') + '"'
    row = con.execute(
        f"SELECT _line, {quoted} FROM raw WHERE {cast.format(col=quoted)} IS NULL "
        "ORDER BY _line LIMIT 1"
    ).fetchone()
    if row is not None:
        raise InputError(f"{path}: line {row[0]}, column {column!r}: cannot read {row[1]!r}")


def _require(path: Path, columns: list[str], wanted: tuple[str, ...]) -> None:
    """Raise InputError when a wanted column is missing."""
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (has {columns})")


def _id_column(columns: list[str]) -> str | None:
    """Return the column carrying customer ids: a known name, else the first other column."""
    others = [c for c in columns if c not in (*SUMMARY_COLUMNS, "monetary_value")]
    named = [c for c in others if c.lower() in ID_NAMES]
    return (named or others or [None])[0]


def read_summary(path: Path, unit: str = "weeks") -> Summary:
    """Read a summary CSV (frequency, recency, T, optional monetary_value and id column)."""
    con = _connect()
    columns = _load(con, path)
    _require(path, columns, SUMMARY_COLUMNS)
    numeric = [*SUMMARY_COLUMNS, *(["monetary_value"] if "monetary_value" in columns else [])]
    for column in numeric:
        _first_bad(con, path, column, "TRY_CAST({col} AS DOUBLE)")
    id_col = _id_column(columns)
    select = ", ".join(f'CAST("{c}" AS DOUBLE)' for c in numeric)
    ids_sql = f', CAST("{id_col}" AS VARCHAR)' if id_col else ""
    rows = con.execute(f"SELECT {select}{ids_sql} FROM raw ORDER BY _line").fetchall()
    if not rows:
        raise InputError(f"{path}: no customers")
    arrays = [np.array([row[i] for row in rows], float) for i in range(len(numeric))]
    summary = Summary(
        *arrays[:3],
        monetary_value=arrays[3] if len(arrays) > 3 else None,
        ids=[str(row[-1]) for row in rows] if id_col else None,
        unit=unit,
        id_column=id_col,
    )
    _check(path, summary)
    return summary


def _check(path: Path, summary: Summary) -> None:
    """Raise InputError naming the first summary row that breaks the model's assumptions."""
    problem = validate(summary)
    if problem is not None:
        index, reason = problem.removeprefix("row ").split(": ", 1)
        raise InputError(f"{path}: line {int(index) + 2}: {reason}")
