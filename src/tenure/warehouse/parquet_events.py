"""Keep the warehouse events as Parquet partitioned by UTC day, for Spark: only changed days.

Layout: `PATH/day=YYYY-MM-DD/part.parquet`, one file per day, columns as `spark.EVENTS_SCHEMA`
reads them (plus message_id, account_external_id, properties, source). A manifest
(`PATH/_tenure_events.json`, ignored by Spark as every `_`/`.` name is) records each written
day's row count and a fingerprint of its rows (an XOR of row hashes, so a late event, a
deletion or an erasure changes it). Each run fingerprints the warehouse's days in one grouped
scan, writes the days that differ in one partitioned COPY into a hidden staging directory, then
moves each day's file over the old one (`os.replace`: a reader sees the old day or the new day,
never half of one), and removes the partitions of days that no longer have events.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tenure.errors import ConfigError
from tenure.warehouse.catalog import EVENTS

MANIFEST = "_tenure_events.json"
PART = "part.parquet"
COLUMNS = (
    "message_id, CAST(account_id AS BIGINT) AS account_id, account_external_id,"
    " contact_external_id, name, make_timestamp(epoch_us(ts)) AS ts,"
    " CAST(properties AS VARCHAR) AS properties, source"
)
FINGERPRINT = (
    "bit_xor(hash(message_id, account_id, contact_external_id, name, epoch_us(ts),"
    " CAST(properties AS VARCHAR), source))"
)


@dataclass
class ExportResult:
    """What one export run did: days written, removed and unchanged, and rows written."""

    written: list[date] = field(default_factory=list)
    removed: list[date] = field(default_factory=list)
    unchanged: int = 0
    rows: int = 0

    def summary(self) -> dict[str, Any]:
        """Return the counts as a stage summary."""
        return {
            "days_written": len(self.written),
            "days_removed": len(self.removed),
            "days_unchanged": self.unchanged,
            "rows_written": self.rows,
        }


def local_path(events: str) -> Path:
    """Return the local directory of an events location; raise ConfigError for a remote one."""
    if events.startswith("file://"):
        return Path(events.removeprefix("file://"))
    if "://" in events:
        raise ConfigError(
            f"events path {events!r} is not a local directory: export to a local path and copy"
            " it to the object store (or mount the store)"
        )
    return Path(events)


def read_manifest(directory: Path) -> dict[str, list[int]]:
    """Return {day: [rows, fingerprint]} of the days written so far."""
    path = directory / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def _write_manifest(directory: Path, manifest: dict[str, list[int]]) -> None:
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(manifest.items()))))
    os.replace(tmp, directory / MANIFEST)


def day_fingerprints(con: Any, since: date | None) -> dict[str, list[int]]:
    """Return {day: [rows, fingerprint]} of the warehouse events on or after since."""
    where = "" if since is None else " WHERE ts >= CAST($since AS DATE)"
    rows = con.execute(
        f"SELECT CAST(CAST(ts AS DATE) AS VARCHAR), count(*), {FINGERPRINT} FROM {EVENTS}{where}"
        " GROUP BY 1",
        {} if since is None else {"since": since},
    ).fetchall()
    return {day: [int(n), int(fp)] for day, n, fp in rows}


def _copy_days(con: Any, staging: Path, days: list[str]) -> None:
    """Write the events of these days into staging, partitioned by day (one pass)."""
    con.execute(
        f"COPY (SELECT {COLUMNS}, CAST(ts AS DATE) AS day FROM {EVENTS}"
        " WHERE CAST(CAST(ts AS DATE) AS VARCHAR) IN (SELECT unnest($days)))"
        f" TO '{staging}' (FORMAT PARQUET, PARTITION_BY (day), FILENAME_PATTERN 'part_{{i}}')",
        {"days": days},
    )


def _place_day(staging: Path, directory: Path, day: str) -> None:
    """Move a staged day's file over the published one; drop any other file of the day."""
    target = directory / f"day={day}"
    target.mkdir(parents=True, exist_ok=True)
    files = sorted((staging / f"day={day}").glob("*.parquet"))
    names = [PART] + [f"part-{i}.parquet" for i in range(1, len(files))]
    for source, name in zip(files, names, strict=True):
        os.replace(source, target / name)
    for stale in target.iterdir():
        if stale.name not in names:
            stale.unlink()


def export_event_days(con: Any, directory: Path, since: date | None = None) -> ExportResult:
    """Bring the Parquet events up to date with the warehouse from since (all days if None)."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(directory)
    current = day_fingerprints(con, since)
    result = ExportResult()
    changed = sorted(d for d, v in current.items() if manifest.get(d) != v)
    if changed:
        staging = directory / f".staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            _copy_days(con, staging, changed)
            for day in changed:
                _place_day(staging, directory, day)
                manifest[day] = current[day]
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    first = None if since is None else since.isoformat()
    gone = sorted(d for d in manifest if d not in current and (first is None or d >= first))
    for day in gone:
        shutil.rmtree(directory / f"day={day}", ignore_errors=True)
        del manifest[day]
    _write_manifest(directory, manifest)
    result.written = [date.fromisoformat(d) for d in changed]
    result.removed = [date.fromisoformat(d) for d in gone]
    result.unchanged = len(current) - len(changed)
    result.rows = sum(current[d][0] for d in changed)
    return result
