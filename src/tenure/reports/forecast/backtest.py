"""Rolling-origin backtest: MAPE and interval coverage per horizon, model beside baselines."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from tenure.reports.forecast.calibration import Scored, calibrate, scored_miss
from tenure.reports.forecast.history import SERIES, History
from tenure.reports.forecast.methods import METHODS, all_bands

MIN_TRAIN = 12  # months of history before the first origin
MAX_ORIGINS = 18  # most recent origins tried (each fits the ETS model once)


def origins(months: int, max_origins: int = MAX_ORIGINS) -> list[int]:
    """Return the training lengths used as forecast origins (each has ≥ 1 month to check)."""
    return list(range(max(MIN_TRAIN, months - max_origins), months))


def _score(
    actual: float, band: dict[str, np.ndarray], k: int, origin: int
) -> tuple[float | None, int, int, Scored]:
    """Return (absolute % error or None at 0, inside 80 %, inside 95 %, the scored miss)."""
    error = None if actual == 0 else abs(actual - band["point"][k]) / abs(actual)
    inside80 = int(band["lo80"][k] <= actual <= band["hi80"][k])
    inside95 = int(band["lo95"][k] <= actual <= band["hi95"][k])
    return error, inside80, inside95, scored_miss(actual, band, k, origin)


def _collect(history: History, horizon: int, max_origins: int) -> dict:
    """Return {(series, method, h): [(error, in80, in95, miss), ...]} over all origins."""
    found: dict = defaultdict(list)
    for origin in origins(len(history), max_origins):
        ahead = min(horizon, len(history) - origin)
        bands = all_bands(history.head(origin), ahead, seed=origin)
        for name in SERIES:
            actual = history.series(name)[origin : origin + ahead]
            for method, band in bands[name].items():
                for k in range(ahead):
                    found[(name, method, k + 1)].append(_score(float(actual[k]), band, k, origin))
    return found


def _summary(scores: list[tuple[float | None, int, int, Scored]]) -> dict[str, Any]:
    """Return MAPE and coverages of one method at one horizon."""
    errors = [s[0] for s in scores if s[0] is not None]
    return {
        "mape": float(np.mean(errors)) if errors else None,
        "coverage80": float(np.mean([s[1] for s in scores])),
        "coverage95": float(np.mean([s[2] for s in scores])),
    }


def _chosen(row: dict[str, Any]) -> str:
    """Return the model where its MAPE beats every baseline's, else the best baseline."""
    mapes = {m: row[m]["mape"] for m in METHODS if m in row and row[m]["mape"] is not None}
    if "model" not in mapes:
        return "model"
    best = min(mapes, key=mapes.get)
    return "model" if mapes["model"] <= mapes[best] else best


def backtest(history: History, horizon: int, max_origins: int = MAX_ORIGINS) -> dict[str, Any]:
    """Return per series a row per horizon (n, MAPE/coverage per method, the chosen one); scales."""
    found = _collect(history, horizon, max_origins)
    out: dict[str, Any] = {"origins": len(origins(len(history), max_origins))}
    for name in SERIES:
        rows = []
        for h in range(1, horizon + 1):
            row: dict[str, Any] = {"horizon": h, "n": len(found.get((name, "model", h), []))}
            for method in METHODS:
                if found.get((name, method, h)):
                    row[method] = _summary(found[(name, method, h)])
            row["method"] = _chosen(row) if row["n"] else "model"
            row["backtested"] = row["n"] > 0
            rows.append(row)
        out[name] = rows
    out["calibration"] = calibrate(found)
    return out
