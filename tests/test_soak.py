"""The 2-minute soak: `tenure serve` under tracking load with the pipeline, alerts and journeys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _book_cache(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Return where the soak keeps its set-up book: pytest's cache dir, else the test's tmp dir.

    The book is keyed on every source file, so a cached one is only reused by the same code.
    """
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("soak-book") if cache is not None else tmp_path / "book"


@pytest.mark.slow
def test_two_minute_soak_loses_nothing_and_stays_flat(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """500 events/s for 2 minutes: 0 lost, 0 errors, RSS growth ≤ 10 %, p99 last ≤ 1.5× first."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench")])}
    command = [sys.executable, str(ROOT / "bench" / "soak.py"), "--minutes", "2"]
    command += ["--accounts", "300", "--setup-cache", str(_book_cache(request, tmp_path))]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["acknowledged"] >= 0.9 * 500 * 120  # the load ran at its rate
    assert figures["lost"] == 0
    assert figures["stored"] == figures["acknowledged"]
    assert figures["jobs"]["pipeline"] >= 1 and figures["jobs"]["journeys"] >= 1
    assert {"server", "pipeline (peak per run)"} <= set(figures["rss"])
    assert figures["max_rss_growth"] <= 0.10, figures["rss"]
    assert figures["p99_last_over_first"] <= 1.5, figures["score_p99_ms_per_minute"]
