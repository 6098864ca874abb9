"""Shared steps of the public data-set importers: read, write canonical files, import them.

Every data-set importer converts its file into the canonical files of `tenure.ingest.spec`
(Parquet, all columns text, exactly as a user's CSV would arrive) and hands each one to
`tenure.ingest.flows.import_file`, so validation, quarantine, idempotency and atomicity are
the same code as for user files. The converted files live in a scratch folder under
``data_dir/tmp`` that is removed when the import ends.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from tenure.config import Settings
from tenure.errors import InputError
from tenure.ingest.files import Format, prepared_input
from tenure.ingest.flows import ImportResult, import_file
from tenure.ingest.mapping import Mapping

DatasetProgress = Callable[[str, str, int, int | None], None]
"""Called with (kind, phase, rows done, rows in total or None)."""


def no_progress(_kind: str, _phase: str, _done: int, _total: int | None) -> None:
    """Report nothing."""
    return None


@contextlib.contextmanager
def scratch_folder(settings: Settings, dataset: str) -> Iterator[Path]:
    """Yield a fresh folder under data_dir/tmp for converted files; remove it afterwards."""
    base = settings.data_dir / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{dataset}-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_source(
    path: Path, scratch: Path, *, dataset: str, fmt: Format, columns: Iterable[str]
) -> pd.DataFrame:
    """Read a public data-set file (gzip ok) as text, or raise InputError naming the problem."""
    with prepared_input(path, scratch) as file:
        if file.format != fmt:
            raise InputError(
                f"{path}: the {dataset} data set is a {fmt.upper()} file, but this one is "
                f"{file.format.upper()} (judging by its name)"
            )
        try:
            if fmt == "csv":
                frame = pd.read_csv(file.path, dtype=str, keep_default_na=False, encoding="utf-8")
            else:
                frame = pd.read_json(
                    file.path, lines=True, dtype=False, convert_dates=False, encoding="utf-8"
                )
        except ValueError as exc:  # includes pandas ParserError and UnicodeDecodeError
            raise InputError(f"{path}: cannot read as {fmt}: {exc}; nothing was imported") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: not the {dataset} data set: missing column(s) {', '.join(missing)} "
            f"(columns found: {', '.join(map(str, frame.columns)) or 'none'}); nothing was imported"
        )
    return frame


def blank_to_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip text cells and turn empty ones into missing values."""
    stripped = frame.apply(lambda column: column.str.strip())
    return stripped.where(stripped != "", None)


def utc_midnight(day: date) -> pd.Timestamp:
    """Return the start of day in UTC."""
    return pd.Timestamp(day.isoformat(), tz="UTC")


def iso(moment: pd.Timestamp | None) -> str | None:
    """Return an ISO 8601 UTC text for moment, or None."""
    return None if moment is None or pd.isna(moment) else moment.isoformat()


def shifted_back(as_of: date, counts: pd.Series, unit: str) -> pd.Series:
    """Return ISO texts of as_of minus each count of months or years (missing stays missing)."""
    start = utc_midnight(as_of)
    numbers = pd.to_numeric(counts, errors="coerce")

    def shift(n: float) -> str | None:
        if math.isnan(n) or n != int(n):
            return None
        return iso(start - pd.DateOffset(**{unit: int(n)}))

    return numbers.map(shift)


def integer_text(values: pd.Series) -> pd.Series:
    """Return numbers (ids, epoch milliseconds) as whole-number text; missing stays missing."""
    return pd.to_numeric(values, errors="coerce").round().astype("Int64").astype("string")


def is_missing(value: Any) -> bool:
    """Return whether a cell is absent (None or NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def write_canonical(frame: pd.DataFrame, folder: Path, stem: str, kind: str) -> Path:
    """Write a canonical frame as Parquet with every column as text; return its path."""
    text = frame.astype("string")
    table = pa.Table.from_pandas(text, preserve_index=False)
    path = folder / f"{stem}.{kind}.parquet"
    pq.write_table(table, path)
    return path


def import_canonical(
    files: list[tuple[str, Path]],
    *,
    source: str,
    settings: Settings,
    engine: Engine,
    progress: DatasetProgress = no_progress,
    origin: Path | None = None,
) -> list[ImportResult]:
    """Import each (kind, path) in order through the standard import; return their results.

    ``origin`` is the user's file: runs and quarantine rows name it (``origin#kind``) rather
    than the converted scratch file.
    """
    results = []
    mapping = Mapping(source=source)
    for kind, path in files:

        def on_progress(phase: str, done: int, total: int | None, kind: str = kind) -> None:
            progress(kind, phase, done, total)

        results.append(
            import_file(
                kind,
                path,
                settings=settings,
                engine=engine,
                mapping=mapping,
                progress=on_progress,
                label=f"{origin}#{kind}" if origin else None,
            )
        )
    return results


def worst_exit_code(results: Iterable[ImportResult]) -> int:
    """Return 2 if any file imported nothing, else 3 if any row was quarantined, else 0."""
    codes = {result.exit_code for result in results}
    if 2 in codes:
        return 2
    return 3 if 3 in codes else 0
