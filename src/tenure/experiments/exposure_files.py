"""Exposures recorded elsewhere: a CSV of (unit, variant, first exposure) for one experiment.

For an experiment that ran before Tenure saw it (another tool's A/B test, the simulator's
treatment): each row is checked in one DuckDB query; bad rows are reported with their line,
field and reason, and the others load, each unit once (its earliest exposure).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from tenure.errors import InputError

CHECK_SQL = """
WITH rows AS (
    SELECT row_number() OVER () + 1 AS line, trim("{unit}") AS unit_id, trim("{variant}") AS variant,
           "{exposed}" AS exposed_text, try_cast("{exposed}" AS TIMESTAMPTZ) AS exposed_at
    FROM source
), checked AS (
    SELECT *, CASE
        WHEN unit_id IS NULL OR unit_id = '' THEN 'unit|unit id is empty'
        WHEN variant IS NULL OR NOT list_contains($variants, variant)
            THEN 'variant|variant ' || coalesce('''' || variant || '''', 'missing')
                 || ' is not one of ' || array_to_string($variants, ', ')
        WHEN exposed_at IS NULL THEN 'exposed|not a date or time: '
                 || coalesce('''' || exposed_text || '''', 'missing')
        WHEN exposed_at < $started_at THEN 'exposed|before the experiment started ('
                 || strftime($started_at, '%Y-%m-%d %H:%M UTC') || ')'
        WHEN exposed_at > $now THEN 'exposed|in the future'
        WHEN count(DISTINCT variant) OVER (PARTITION BY unit_id) > 1
            THEN 'variant|the unit appears with more than one variant'
    END AS problem
    FROM rows
)
SELECT line, unit_id, variant, exposed_at, problem FROM checked ORDER BY line
"""


@dataclass(frozen=True)
class ExposureFile:
    """The rows of an exposures file: what can load and what cannot, with why."""

    exposures: list[tuple[str, str, datetime]]
    rejected: list[tuple[int, str, str]]


def _columns(con: duckdb.DuckDBPyConnection, path: Path, wanted: Collection[str]) -> None:
    """Raise InputError naming any wanted column the file lacks."""
    present = [d[0] for d in con.execute("SELECT * FROM source LIMIT 0").description]
    missing = [c for c in wanted if c not in present]
    if missing:
        raise InputError(
            f"{path}: no column {', '.join(map(repr, missing))} (columns: {', '.join(present)})"
        )


def read_exposure_file(
    path: Path,
    *,
    unit: str,
    variant: str,
    exposed_at: str,
    variants: list[str],
    started_at: datetime,
    now: datetime,
) -> ExposureFile:
    """Return the file's loadable exposures (earliest per unit) and its rejected rows."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        relation = con.read_csv(str(path), all_varchar=True, header=True)
        con.register("source", relation)
        _columns(con, path, (unit, variant, exposed_at))
        names = {"unit": unit, "variant": variant, "exposed": exposed_at}
        if any('"' in name for name in names.values()):
            raise InputError("column names may not contain double quotes")  # quoted identifiers
        sql = CHECK_SQL.format(**names)
        params = {"variants": variants, "started_at": started_at, "now": now}
        rows = con.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as CSV: {exc}") from exc
    finally:
        con.close()
    return _split(rows, names)


def _split(rows: list[tuple], names: dict[str, str]) -> ExposureFile:
    """Return the good rows (earliest exposure per unit) and the rejected (line, field, reason)."""
    earliest: dict[str, tuple[str, str, datetime]] = {}
    rejected = []
    for line, unit_id, variant, at, problem in rows:
        if problem is not None:
            field, _, reason = problem.partition("|")
            rejected.append((line, names[field], reason))
        elif unit_id not in earliest or at < earliest[unit_id][2]:
            earliest[unit_id] = (unit_id, variant, at)
    return ExposureFile(exposures=list(earliest.values()), rejected=rejected)
