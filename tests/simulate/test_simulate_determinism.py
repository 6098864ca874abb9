"""Same arguments, same bytes; a different seed, a different dataset."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from tenure.simulate import SimulationConfig, simulate

FILES = (
    "accounts.csv",
    "contacts.csv",
    "subscriptions.csv",
    "invoices.csv",
    "tickets.csv",
    "surveys.csv",
    "assignments.csv",
    "events.parquet",
    "truth.parquet",
    "manifest.json",
)


def digests(folder: Path) -> dict[str, str]:
    """Return the sha256 of every output file."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


def run(out: Path, seed: int) -> dict[str, str]:
    """Simulate a small dataset with a treatment and return its digests."""
    config = SimulationConfig(
        accounts=300, months=2, seed=seed, end=date(2025, 1, 31), treatment_fraction=0.5
    )
    simulate(config, out)
    return digests(out)


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    first, second = run(tmp_path / "a", seed=5), run(tmp_path / "b", seed=5)
    assert first == second


def test_rerun_into_the_same_folder_replaces_it(tmp_path: Path) -> None:
    first = run(tmp_path / "a", seed=5)
    assert run(tmp_path / "a", seed=5) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    first, other = run(tmp_path / "a", seed=5), run(tmp_path / "b", seed=6)
    for name in ("accounts.csv", "subscriptions.csv", "events.parquet", "truth.parquet"):
        assert first[name] != other[name], name
