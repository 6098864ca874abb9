"""Simulated datasets shared by the simulator tests (built once per session)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tenure.simulate import SimulationConfig, simulate

END = date(2025, 3, 31)


def build(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: object) -> Path:
    """Simulate into a fresh folder and return it."""
    out = tmp_path_factory.mktemp(name) / "out"
    simulate(SimulationConfig(end=END, **kwargs), out)
    return out


@pytest.fixture(scope="session")
def sim_end() -> date:
    """Return the --end date of every shared dataset."""
    return END


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return 400 accounts × 3 months with a treatment, for format and integrity checks."""
    return build(tmp_path_factory, "small", accounts=400, months=3, seed=7, treatment_fraction=0.3)


@pytest.fixture(scope="session")
def truth_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return 5,000 accounts × 6 months, enough to check the truth's calibration."""
    return build(tmp_path_factory, "truth", accounts=5000, months=6, seed=11)


@pytest.fixture(scope="session")
def treatment_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return 6,000 accounts × 6 months, half treated from day one with a 50 % hazard cut."""
    return build(
        tmp_path_factory, "treatment", accounts=6000, months=6, seed=23,
        treatment_fraction=0.5, treatment_effect=0.5, treatment_start=date(2024, 9, 30),
    )  # fmt: skip
