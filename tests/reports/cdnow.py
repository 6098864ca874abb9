"""The CDNOW sample (Fader, Hardie & Lee 2005) as shipped in the test-only `lifetimes` package."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest


def cdnow_dir() -> Path:
    """Return lifetimes' datasets folder without importing lifetimes, or skip the test."""
    spec = importlib.util.find_spec("lifetimes")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" if spec else None
    if folder is None or not (folder / "CDNOW_sample.txt").is_file():
        pytest.skip("CDNOW public data set missing: pip install --no-deps 'lifetimes==0.11.3'")
    return folder


def cdnow_transactions_csv(target: Path) -> Path:
    """Write the fixed-width CDNOW sample as a CSV (customer, date, cds, amount)."""
    with target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["customer", "date", "cds", "amount"])
        for line in (cdnow_dir() / "CDNOW_sample.txt").read_text().splitlines():
            customer, _, day, cds, amount = line.split()
            writer.writerow([customer, day, cds, amount])
    return target
