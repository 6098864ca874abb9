"""Under CI, a test skipped for a missing public data set fails instead (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tenure

TARGET = Path(__file__).parent / "ingest" / "test_datasets.py"
NODE = f"{TARGET}::test_telco_reimport_changes_nothing"


def run_without_datasets(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one data-set test where no data set can be found; return the pytest run."""
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "TENURE_DATASETS_DIR")}
    source = str(Path(tenure.__file__).parents[1])  # this checkout's code, whatever the cwd
    environ.update(PYTHONPATH=source, TENURE_DATASETS_DIR=str(tmp_path / "none"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", NODE, "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=tmp_path,  # so ../shared/datasets is not found either
        env=environ,
        capture_output=True,
        text=True,
    )


def test_missing_dataset_is_a_skip_locally(tmp_path):
    result = run_without_datasets(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout


def test_missing_dataset_fails_under_ci(tmp_path):
    result = run_without_datasets(tmp_path, CI="1")
    assert result.returncode == 1, result.stdout
    assert "CI is set, so this may not be skipped" in result.stdout
    assert "public data set telco_customer_churn.csv.gz is absent" in result.stdout


def test_every_file_listed_as_opening_no_app_db_exists():
    """tests/no_app_db.txt names only test files that exist (no stale entries)."""
    from .conftest import NO_APP_DB_LIST, no_app_db_files

    root = NO_APP_DB_LIST.parent.parent
    listed = no_app_db_files()
    assert len(listed) > 20
    assert sorted(name for name in listed if not (root / name).is_file()) == []
