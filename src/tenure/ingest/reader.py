"""Load an input file into a DuckDB table of text columns, keeping unreadable lines aside."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from tenure.errors import InputError
from tenure.ingest.files import InputFile
from tenure.ingest.sql import ident, literal

_RECORD_SEPARATOR = "\x1e"
_LATIN1 = "encoding = 'latin-1'"  # every byte is a character: counts lines even in non-UTF-8 files
_counter = itertools.count()


@dataclass(frozen=True)
class Rejected:
    """A line the reader could not turn into a row."""

    line: int
    field: str | None
    reason: str
    raw: str | None


@dataclass
class RawTable:
    """A DuckDB table of text columns plus `_row`, the row's position in the file."""

    name: str
    columns: list[str]
    rows: int
    rejected: list[Rejected] = field(default_factory=list)
    file: InputFile | None = None
    csv: dict[str, str] = field(default_factory=dict)  # the mapping's [csv] options


def load_raw(con: duckdb.DuckDBPyConnection, file: InputFile, csv: dict[str, str]) -> RawTable:
    """Read file into a temp table of VARCHAR columns; return it with the rejected lines."""
    name = f"raw_{next(_counter)}"
    loaders = {"csv": _load_csv, "jsonl": _load_jsonl, "parquet": _load_parquet}
    try:
        raw = loaders[file.format](con, file.path, name, csv)
    except duckdb.Error as exc:
        raise InputError(
            f"{file.original}: cannot read as {file.format}: {_first_line(exc)}"
        ) from exc
    raw.file, raw.csv = file, dict(csv)
    if raw.rows == 0 and not raw.rejected:
        raise InputError(f"{file.original}: no data rows (only a header or blank lines)")
    return raw


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _csv_options(csv: dict[str, str]) -> str:
    allowed = {"delimiter": "delim", "delim": "delim", "quote": "quote", "escape": "escape"}
    parts = []
    for key, value in csv.items():
        if key not in allowed:
            raise InputError(f"mapping [csv]: unknown option {key!r}; use delimiter, quote, escape")
        parts.append(f", {allowed[key]} = {literal(value)}")
    return "".join(parts)


def _load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, csv: dict[str, str]
) -> RawTable:
    errors, scans = f"{name}_rej", f"{name}_scan"
    con.execute(
        f"CREATE TEMP TABLE {name}_data AS SELECT * FROM read_csv(?, all_varchar = true, header = true,"
        f" store_rejects = true, rejects_table = {literal(errors)},"
        f" rejects_scan = {literal(scans)}{_csv_options(csv)})",
        [str(path)],
    )
    found = con.execute(
        f"SELECT line, min(line_byte_position), any_value(column_name),"
        f" string_agg(DISTINCT error_type, '; '), any_value(error_message), any_value(csv_line)"
        f" FROM {errors} GROUP BY line ORDER BY line"
    ).fetchall()
    # DuckDB numbers records, not lines: a quoted field spanning lines would shift every later
    # number, so each rejected record's line comes from the byte where it starts.
    physical = lines_at(path, [start for _, start, *_ in found if start is not None])
    rejected = [
        Rejected(
            line=physical[start] if start is not None else int(line),
            field=column,
            reason=_reject_reason(kind, message),
            raw=csv_line,
        )
        for line, start, column, kind, message, csv_line in found
    ]
    con.execute(f"DROP TABLE IF EXISTS {errors}; DROP TABLE IF EXISTS {scans}")
    con.execute(f"CREATE TEMP VIEW {name} AS SELECT rowid AS _row, * FROM {name}_data")
    return _finish(con, name, rejected)


def _reject_reason(kind: str, message: str) -> str:
    if "INVALID ENCODING" in kind:
        return "not valid UTF-8 text (re-save the file as UTF-8)"
    return f"{kind.lower()}: {message.strip().splitlines()[0]}"


def _finish(con: duckdb.DuckDBPyConnection, name: str, rejected: list[Rejected]) -> RawTable:
    columns = [row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()]
    columns = [c for c in columns if c != "_row"]
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return RawTable(name=name, columns=columns, rows=rows, rejected=rejected)


def _lines_sql(options: str) -> str:
    return (
        "read_csv(?, columns = {'line': 'VARCHAR'}, header = false, quote = '', escape = '',"
        f" delim = {literal(_RECORD_SEPARATOR)}, strict_mode = false, {options})"
    )


def _encoding_rejects(con: duckdb.DuckDBPyConnection, errors: str) -> list[Rejected]:
    return [
        Rejected(line=int(line), field=None, reason=_reject_reason(kind, message), raw=text)
        for line, kind, message, text in con.execute(
            f"SELECT line, any_value(error_type), any_value(error_message), any_value(csv_line)"
            f" FROM {errors} GROUP BY line ORDER BY line"
        ).fetchall()
    ]


def _physical_row(rejected: list[Rejected]) -> str:
    """Return SQL giving each kept line's 0-based physical position, given the dropped lines."""
    if not rejected:
        return "rowid"
    shifts = " UNION ALL ".join(f"SELECT {r.line - 1 - j} AS adj" for j, r in enumerate(rejected))
    return f"rowid + (SELECT count(*) FROM ({shifts}) s WHERE s.adj <= rowid)"


def _load_jsonl(con: duckdb.DuckDBPyConnection, path: Path, name: str, _csv: dict) -> RawTable:
    lines = f"{name}_lines"
    errors, scans = f"{name}_rej", f"{name}_scan"
    options = (
        f"store_rejects = true, rejects_table = {literal(errors)}, rejects_scan = {literal(scans)}"
    )
    con.execute(
        f"CREATE TEMP TABLE {lines}_text AS SELECT line FROM {_lines_sql(options)}", [str(path)]
    )
    unreadable = _encoding_rejects(con, errors)
    con.execute(f"DROP TABLE IF EXISTS {errors}; DROP TABLE IF EXISTS {scans}")
    con.execute(
        f"CREATE TEMP TABLE {lines} AS SELECT {_physical_row(unreadable)} AS _row, line,"
        f" CASE WHEN json_valid(line) THEN json_type(line) END AS _type FROM {lines}_text"
    )
    con.execute(f"DROP TABLE {lines}_text")
    rejected = unreadable + [
        Rejected(line=row + 1, field=None, reason=reason, raw=line)
        for row, line, reason in con.execute(
            f"SELECT _row, line, CASE WHEN _type IS NULL THEN 'not valid JSON'"
            f" ELSE 'not a JSON object (found ' || lower(_type) || ')' END"
            f" FROM {lines} WHERE line IS NOT NULL AND coalesce(_type, '') <> 'OBJECT' ORDER BY _row"
        ).fetchall()
    ]
    keys = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT unnest(json_keys(line)) AS k FROM {lines} WHERE _type = 'OBJECT'"
            " ORDER BY k"
        ).fetchall()
    ]
    if not keys:
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT _row FROM {lines} WHERE false")
    else:
        extract = ", ".join(f"line ->> {literal(k)} AS {ident(k)}" for k in keys)
        con.execute(
            f"CREATE TEMP TABLE {name} AS SELECT _row, {extract} FROM {lines} WHERE _type = 'OBJECT'"
        )
    con.execute(f"DROP TABLE {lines}")
    return _finish(con, name, sorted(rejected, key=lambda r: r.line))


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str, _csv: dict) -> RawTable:
    source = "read_parquet(?, file_row_number = true)"
    described = con.execute(f"DESCRIBE SELECT * FROM {source}", [str(path)]).fetchall()
    casts = []
    for column, dtype, *_ in described:
        if column == "file_row_number":
            continue
        as_json = dtype.startswith(("STRUCT", "MAP")) or dtype.endswith("]")
        expr = f"to_json({ident(column)})" if as_json else ident(column)
        casts.append(f"CAST({expr} AS VARCHAR) AS {ident(column)}")
    con.execute(
        f"CREATE TEMP TABLE {name} AS SELECT file_row_number AS _row, {', '.join(casts)}"
        f" FROM {source}",
        [str(path)],
    )
    return _finish(con, name, [])


def lines_at(path: Path, offsets: list[int], chunk: int = 1 << 24) -> dict[int, int]:
    """Map byte offsets in a file to 1-based line numbers (newlines before them + 1), streaming."""
    wanted = deque(sorted(set(offsets)))
    found: dict[int, int] = {}
    newlines, read = 0, 0
    with open(path, "rb") as handle:
        while wanted and (block := handle.read(chunk)):
            while wanted and wanted[0] <= read + len(block):
                offset = wanted.popleft()
                found[offset] = newlines + block.count(b"\n", 0, offset - read) + 1
            newlines += block.count(b"\n")
            read += len(block)
    found.update({offset: newlines + 1 for offset in wanted})  # at or past the end
    return found


def csv_lines(con: duckdb.DuckDBPyConnection, raw: RawTable, rows: list[int]) -> dict[int, int]:
    """Map CSV row positions (0-based, accepted rows) to the physical line each record starts on.

    A line starts a record unless it begins inside a quoted field, i.e. unless the lines before
    it hold an odd number of quote characters (escaped quotes removed first); a field spanning
    lines thus keeps the later rows' line numbers right.
    """
    if not rows:
        return {}
    skipped = sorted(r.line for r in raw.rejected)
    wanted = f"{raw.name}_wanted"
    positions = pa.table({"pos": pa.array(rows, type=pa.int64())})
    con.register(f"{wanted}_arrow", positions)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {wanted} AS SELECT pos FROM {wanted}_arrow")
    con.unregister(f"{wanted}_arrow")
    skip = f" AND line NOT IN ({', '.join(str(s) for s in skipped)})" if skipped else ""
    con.execute(
        f"CREATE TEMP TABLE {wanted}_text AS SELECT line FROM {_lines_sql(_LATIN1)}",
        [str(raw.file.path)],
    )
    quote = raw.csv.get("quote", '"')
    escape = raw.csv.get("escape", quote)
    params = {"quote": quote} if quote else {}
    unescaped = "text"
    if quote and escape and escape != quote:  # e.g. backslash: \" is no quote, \\ no escape
        unescaped = "replace(replace(text, $escape || $escape, ''), $escape || $quote, '')"
        params["escape"] = escape
    counted = f"length({unescaped}) - length(replace({unescaped}, $quote, ''))" if quote else "0"
    result = con.execute(
        f"WITH lines AS (SELECT rowid + 1 AS line, line AS text,"
        f" coalesce({counted}, 0) AS quotes FROM {wanted}_text),"
        f" marked AS (SELECT line, text,"
        f" (sum(quotes) OVER (ORDER BY line) - quotes) % 2 = 0 AS starts FROM lines),"
        f" data AS (SELECT line, row_number() OVER (ORDER BY line) - 1 AS pos FROM marked"
        f" WHERE starts AND line > 1 AND text IS NOT NULL{skip})"
        f" SELECT d.pos, d.line FROM data d JOIN {wanted} w USING (pos)",
        params,
    ).fetchall()
    con.execute(f"DROP TABLE {wanted}; DROP TABLE {wanted}_text")
    return dict(result)


def drop_raw(con: duckdb.DuckDBPyConnection, raw: RawTable) -> None:
    """Drop the raw table (and, for CSV, the view over it) once staging is done."""
    if raw.file is not None and raw.file.format == "csv":
        con.execute(f"DROP VIEW {raw.name}; DROP TABLE {raw.name}_data")
    else:
        con.execute(f"DROP TABLE {raw.name}")
