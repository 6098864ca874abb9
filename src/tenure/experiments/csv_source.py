"""Bring your own experiment: sufficient statistics per variant from a CSV, in one DuckDB pass.

The file is read once by `read_csv` and aggregated by variant in SQL (no row reaches Python);
the only other look at it is DuckDB's sniffer, which reads a sample to name and type the columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenure.errors import InputError
from tenure.experiments.schemas import MetricKind, MetricSummary

INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}  # fmt: skip
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


@dataclass(frozen=True)
class CsvExperiment:
    """What a CSV holds about an experiment: per-metric summaries, kinds and units per variant."""

    summaries: dict[str, dict[str, MetricSummary]]
    kinds: dict[str, MetricKind]
    counts: dict[str, int]


def quote(name: str) -> str:
    """Return a column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _numeric(type_name: str) -> bool:
    """Return whether a DuckDB column type holds numbers (booleans count as 0/1)."""
    base = type_name.split("(")[0].upper()
    return base in INTEGER_TYPES | FLOAT_TYPES | {"BOOLEAN", "DECIMAL"}


def _floating(type_name: str) -> bool:
    """Return whether a numeric column may hold fractions (not an integer or boolean type)."""
    return type_name.split("(")[0].upper() not in INTEGER_TYPES | {"BOOLEAN"}


def _open_units(connection: Any, path: Path) -> dict[str, str]:
    """Sniff the CSV and expose it as the view `units`; return its column names and types.

    The path goes through DuckDB's relational API, not into SQL text; binding it as a query
    parameter instead would make DuckDB import pandas (seconds of start-up).
    """
    import duckdb

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    try:
        relation = connection.read_csv(str(path))
        relation.create_view("units")
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read it as CSV ({exc})") from None
    return {name: str(kind) for name, kind in zip(relation.columns, relation.dtypes, strict=True)}


def _has_rows(connection: Any, path: Path) -> bool:
    """Return whether the CSV has a data row (reads only its first rows)."""
    sql = "SELECT count(*) FROM (SELECT 1 FROM units LIMIT 1)"
    return connection.execute(sql).fetchone()[0] > 0


def _check_columns(
    connection: Any,
    path: Path,
    columns: dict[str, str],
    variant: str,
    metrics: Sequence[str],
    pre: str | None,
) -> None:
    """Raise InputError when a named column is missing, repeated or not numeric."""
    named = [variant, *metrics, *([pre] if pre else [])]
    missing = [name for name in named if name not in columns]
    if missing:
        raise InputError(
            f"no column {', '.join(missing)} in the file (it has {', '.join(columns)})"
        )
    if len(set(named)) != len(named):
        raise InputError("the variant, metric and --pre columns must all be different")
    for name in [*metrics, *([pre] if pre else [])]:
        if not _numeric(columns[name]):
            if not _has_rows(connection, path):
                raise InputError(f"{path}: no rows under the header")
            raise InputError(f"column {name} is not numeric (read as {columns[name]})")


def _select_list(metrics: Sequence[str], pre: str | None, columns: dict[str, str]) -> str:
    """Return the aggregates: units, then per metric n, Σx, Σx² (min/max, pre sums if needed)."""
    parts = ["count(*)"]
    pre_value = f"coalesce(CAST({quote(pre)} AS DOUBLE), 0)" if pre else None
    for name in metrics:
        x = f"CAST({quote(name)} AS DOUBLE)"
        parts += [f"count({x})", f"sum({x})", f"sum({x} * {x})"]
        if _floating(columns[name]):
            parts += [f"min({x})", f"max({x})"]
        if pre_value:
            keep = f"FILTER (WHERE {x} IS NOT NULL)"
            parts += [
                f"sum({pre_value}) {keep}",
                f"sum({pre_value} * {pre_value}) {keep}",
                f"sum({x} * {pre_value})",
            ]
    return ", ".join(parts)


def _aggregate(connection: Any, path: Path, variant: str, select: str) -> list[tuple]:
    """Run the one read of the CSV + GROUP BY; return one row per non-null variant."""
    import duckdb

    v = f"CAST({quote(variant)} AS VARCHAR)"
    sql = (
        f"SELECT {v} AS variant, {select} FROM units "
        f"WHERE {v} IS NOT NULL GROUP BY ALL ORDER BY variant"
    )
    try:
        return connection.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot summarise it ({exc})") from None


def _unpack(
    rows: list[tuple], metrics: Sequence[str], pre: str | None, columns: dict[str, str]
) -> tuple[dict[str, dict[str, tuple]], dict[str, int]]:
    """Split each aggregate row into per-metric tuples; return them and the units per variant."""
    per_metric: dict[str, dict[str, tuple]] = {name: {} for name in metrics}
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[0]] = int(row[1])
        at = 2
        for name in metrics:
            width = 3 + (2 if _floating(columns[name]) else 0) + (3 if pre else 0)
            per_metric[name][row[0]] = row[at : at + width]
            at += width
    return per_metric, counts


def _kind(values: dict[str, tuple], floating: bool) -> MetricKind:
    """Return BINARY when every value is 0 or 1 (Σx = Σx² on integers and in [0, 1]), else MEAN."""
    total = sum(v[1] or 0.0 for v in values.values())
    squares = sum(v[2] or 0.0 for v in values.values())
    if floating:
        low = min((v[3] for v in values.values() if v[3] is not None), default=0.0)
        high = max((v[4] for v in values.values() if v[4] is not None), default=0.0)
        if low < 0 or high > 1:
            return MetricKind.MEAN
    return MetricKind.BINARY if total == squares else MetricKind.MEAN


def _summary(values: tuple, pre: str | None) -> MetricSummary:
    """Return the MetricSummary of one metric in one variant from its aggregate values."""
    n, total, squares = int(values[0]), values[1] or 0.0, values[2] or 0.0
    if not pre:
        return MetricSummary(n, float(total), float(squares))
    pre_sum, pre_squares, cross = (float(v or 0.0) for v in values[-3:])
    return MetricSummary(n, float(total), float(squares), pre_sum, pre_squares, cross)


def summarize_csv(
    path: Path, variant: str, metrics: Sequence[str], pre: str | None = None
) -> CsvExperiment:
    """Return the sufficient statistics of each metric per variant in a CSV of units."""
    import duckdb

    if not metrics:
        raise InputError("name at least one --metric column")
    # No progress bar: it would print to stdout, which --json keeps for the document.
    connection = duckdb.connect()
    try:
        connection.execute("SET enable_progress_bar = false")
        columns = _open_units(connection, path)
        _check_columns(connection, path, columns, variant, metrics, pre)
        rows = _aggregate(connection, path, variant, _select_list(metrics, pre, columns))
    finally:
        connection.close()
    if not rows:
        raise InputError(f"{path}: no rows with a value in {variant}")
    if len(rows) < 2:
        raise InputError(f"column {variant} has one variant ({rows[0][0]}); need at least two")
    per_metric, counts = _unpack(rows, metrics, pre, columns)
    kinds, summaries = {}, {}
    for name in metrics:
        if sum(v[0] for v in per_metric[name].values()) == 0:
            raise InputError(f"column {name} has no values")
        kinds[name] = _kind(per_metric[name], _floating(columns[name]))
        summaries[name] = {v: _summary(values, pre) for v, values in per_metric[name].items()}
    return CsvExperiment(summaries=summaries, kinds=kinds, counts=counts)
