"""Quarantined rows: gathered from the reader and the validator, saved to the DB and a CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tenure.ingest.reader import RawTable, csv_lines
from tenure.ingest.sql import ident
from tenure.ingest.validate import ERASED, SEP, StagedTable

MAX_RAW = 2000


@dataclass(frozen=True)
class QuarantineEntry:
    """One rejected row: where it was, which field, why, and its raw content."""

    file: str
    line: int | None
    field: str | None
    reason: str
    raw: str | None


def gather(
    con: duckdb.DuckDBPyConnection, raw: RawTable, staged: StagedTable
) -> list[QuarantineEntry]:
    """Collect reader rejections and validation failures, with file line numbers."""
    file = str(raw.file.original)
    entries = [
        QuarantineEntry(file, r.line, r.field, r.reason, (r.raw or "")[:MAX_RAW])
        for r in raw.rejected
    ]
    columns = ", ".join(f"{ident(c)}: r.{ident(c)}" for c in raw.columns)
    invalid = con.execute(
        f"SELECT s._row, s._first_row, s._error, to_json({{{columns}}})::VARCHAR FROM {staged.name} s"
        f" JOIN {raw.name} r ON r._row = s._row WHERE s._error IS NOT NULL ORDER BY s._row"
    ).fetchall()
    line_of = _line_numbers(con, raw, invalid)
    for row, first_row, error, content in invalid:
        field, reason = error.split(SEP, 1)
        if "duplicate" in reason and first_row != row:
            reason += f" (first at line {line_of.get(first_row, first_row)})"
        # An erased person's row is refused without keeping a copy of it.
        raw_kept = "" if reason == ERASED else content[:MAX_RAW]
        entries.append(QuarantineEntry(file, line_of.get(row), field, reason, raw_kept))
    return sorted(entries, key=lambda e: (e.line is None, e.line or 0))


def _line_numbers(
    con: duckdb.DuckDBPyConnection, raw: RawTable, invalid: list[tuple]
) -> dict[int, int]:
    rows = sorted({r[0] for r in invalid} | {r[1] for r in invalid})
    if raw.file.format == "csv":
        return csv_lines(con, raw, rows)
    return {row: row + 1 for row in rows}


def write_csv(path: Path, entries: list[QuarantineEntry]) -> None:
    """Write the quarantine entries to a CSV file beside the import log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "field", "reason", "raw"])
        for e in entries:
            writer.writerow([e.file, e.line, e.field, e.reason, e.raw])
