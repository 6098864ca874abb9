"""Import a simulator output folder in one go, in dependency order."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tenure.config import Settings
from tenure.errors import InputError
from tenure.ingest.flows import ImportResult, Progress, import_file
from tenure.ingest.mapping import Mapping
from tenure.ingest.spec import ALL_KINDS
from tenure.warehouse.catalog import SIM_ASSIGNMENTS, SIM_TRUTH
from tenure.warehouse.connection import open_warehouse

_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")


def find_kind_file(folder: Path, kind: str) -> Path | None:
    """Return folder/<kind>.<csv|parquet|jsonl>[.gz] if one exists."""
    for suffix in _SUFFIXES:
        candidate = folder / f"{kind}{suffix}"
        if candidate.exists():
            return candidate
    return None


def import_simulated(
    folder: Path, *, settings: Settings, engine: Engine, progress: Progress | None = None
) -> list[ImportResult]:
    """Import every canonical file the simulator wrote, then its ground truth."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a directory (expected a `tenure simulate --out` folder)")
    found = {kind: find_kind_file(folder, kind) for kind in ALL_KINDS}
    if found["accounts"] is None:
        raise InputError(f"{folder}: no accounts file; is this a `tenure simulate` output?")
    mapping = Mapping(source="simulator")
    kwargs = {"progress": progress} if progress else {}
    results = [
        import_file(kind, path, settings=settings, engine=engine, mapping=mapping, **kwargs)
        for kind, path in found.items()
        if path is not None
    ]
    load_ground_truth(folder, settings=settings)
    return results


def load_ground_truth(folder: Path, *, settings: Settings) -> None:
    """Copy truth.parquet and assignments.csv into warehouse tables, replacing earlier ones."""
    truth, assignments = folder / "truth.parquet", folder / "assignments.csv"
    if not truth.exists() and not assignments.exists():
        return
    with open_warehouse(settings) as warehouse:
        if truth.exists():
            warehouse.con.execute(
                f"CREATE OR REPLACE TABLE {SIM_TRUTH} AS SELECT * FROM read_parquet(?)",
                [str(truth)],
            )
        if assignments.exists():
            warehouse.con.execute(
                f"CREATE OR REPLACE TABLE {SIM_ASSIGNMENTS} AS SELECT * FROM read_csv(?)",
                [str(assignments)],
            )
