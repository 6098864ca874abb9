"""Benchmark CLI start-up: `tenure --help` and `tenure model --help` against `python -c pass`.

Prints one JSON object: median wall time and peak RSS of each command, and their ratios to
`python -c pass` measured interleaved in the same run (the machines are noisy). Peak RSS is
the child's own `ru_maxrss`, read with `os.wait4`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TENURE = str(Path(sys.executable).parent / "tenure")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "tenure --help": [TENURE, "--help"],
    "tenure model --help": [TENURE, "model", "--help"],
}


def run_once(argv: list[str]) -> tuple[float, int]:
    """Run ARGV with output discarded; return its wall seconds and peak RSS in MB."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {child.returncode}")
    return seconds, usage.ru_maxrss // 1024


def measure(repeat: int) -> dict[str, dict[str, float]]:
    """Run every command REPEAT times, interleaved; return median seconds and max peak MB."""
    seconds: dict[str, list[float]] = {name: [] for name in COMMANDS}
    peaks: dict[str, list[int]] = {name: [] for name in COMMANDS}
    for _ in range(repeat):
        for name, argv in COMMANDS.items():
            wall, peak = run_once(argv)
            seconds[name].append(wall)
            peaks[name].append(peak)
    return {
        name: {
            "median_s": round(statistics.median(seconds[name]), 3),
            "min_s": round(min(seconds[name]), 3),
            "peak_rss_mb": max(peaks[name]),
        }
        for name in COMMANDS
    }


def main() -> None:
    """Measure and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command")
    args = parser.parse_args()
    figures = measure(args.repeat)
    base = figures["python -c pass"]
    ratios = {
        name: {
            "wall_vs_python": round(row["median_s"] / base["median_s"], 1),
            "rss_vs_python": round(row["peak_rss_mb"] / max(base["peak_rss_mb"], 1), 1),
        }
        for name, row in figures.items()
        if name != "python -c pass"
    }
    targets = {"tenure --help": {"median_s": 0.5, "peak_rss_mb": 100}}
    report = {"repeat": args.repeat, "commands": figures, "ratios": ratios, "targets": targets}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
