"""Where the public data sets (Telco, bank churn, Sparkify) live on a developer machine."""

from __future__ import annotations

import os
from pathlib import Path


def dataset_folders() -> list[Path]:
    """Return the folders to look in: TENURE_DATASETS_DIR, then ../shared/datasets."""
    folders = [Path.cwd().parent / "shared" / "datasets"]
    if os.environ.get("TENURE_DATASETS_DIR"):
        folders.insert(0, Path(os.environ["TENURE_DATASETS_DIR"]))
    return folders


def find_dataset(name: str) -> Path | None:
    """Return the path of a public data set file, or None when it is not on this machine."""
    return next((f / name for f in dataset_folders() if (f / name).is_file()), None)
