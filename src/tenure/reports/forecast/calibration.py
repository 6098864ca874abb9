"""Interval calibration on the backtest's own misses: scale each band to its nominal coverage.

A band's miss at one checked month is the error divided by the band's half-width on the side
the actual fell (inside the band iff ≤ 1). The scale of a level is the empirical quantile of
the misses at that level (0.8 or 0.95), per series, method and horizon (misses grow with the
horizon faster than the simulated bands do); the calibrated band is point ± scale × half-width.
Large, lumpy books give simulated bands that are too narrow (scales above 1); bands are never
narrowed (SCALE_RANGE).

Coverage "after" is measured out of time: each backtest month is judged with the scale learnt
from the same horizon's months whose actuals were known at its origin (≥ MIN_KNOWN of them),
never its own; "before" is the raw coverage of those same months.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple

import numpy as np

LEVELS = {"80": 0.80, "95": 0.95}
MIN_KNOWN = 5  # misses at one horizon known before an origin, needed to judge it
# Widen only: a few backtest months too easily ask to narrow a band (measured on a 60-account
# book: 80 % coverage fell from 88 % to 39 % out of time); a degenerate (zero-width) band cannot
# ask for an infinite scale.
SCALE_RANGE = (1.0, 10.0)


class Scored(NamedTuple):
    """One backtest month: its origin, the actual's month index and its miss per level."""

    origin: int
    target: int
    miss80: float
    miss95: float


def _miss(actual: float, point: float, low: float, high: float) -> float:
    """Return the error over the half-width on the actual's side (inf for a zero width)."""
    width = high - point if actual >= point else point - low
    error = abs(actual - point)
    if width <= 0:
        return 0.0 if error == 0 else float("inf")
    return error / width


def scored_miss(actual: float, band: dict[str, np.ndarray], k: int, origin: int) -> Scored:
    """Return the misses of one actual against a band at horizon index k."""
    point = float(band["point"][k])
    return Scored(
        origin,
        origin + k,
        _miss(actual, point, float(band["lo80"][k]), float(band["hi80"][k])),
        _miss(actual, point, float(band["lo95"][k]), float(band["hi95"][k])),
    )


def scale_for(misses: np.ndarray, level: float) -> float:
    """Return the band scale that covers LEVEL of these misses (clipped to SCALE_RANGE)."""
    if len(misses) == 0:
        return 1.0
    value = float(np.quantile(misses, level, method="higher"))
    return float(np.clip(value, *SCALE_RANGE))


def _out_of_time(scored: list[Scored], level: str) -> tuple[list[bool], list[bool]]:
    """Return inside-before and inside-after flags of the months judged with earlier scales."""
    misses = np.array([getattr(s, f"miss{level}") for s in scored])
    targets = np.array([s.target for s in scored])
    before, after = [], []
    for s, miss in zip(scored, misses, strict=True):
        known = misses[targets < s.origin]
        if len(known) < MIN_KNOWN:
            continue
        before.append(bool(miss <= 1.0))
        after.append(bool(miss <= scale_for(known, LEVELS[level])))
    return before, after


def _entry(per_horizon: dict[int, list[Scored]]) -> dict[str, Any]:
    """Return one method's scales per horizon and its coverage before/after (pooled)."""
    entry: dict[str, Any] = {"n": sum(len(v) for v in per_horizon.values())}
    for level, nominal in LEVELS.items():
        scales, judged = [], {"before": [], "after": []}
        for h in sorted(per_horizon):
            scored = per_horizon[h]
            scales.append(
                scale_for(np.array([getattr(s, f"miss{level}") for s in scored]), nominal)
            )
            before, after = _out_of_time(scored, level)
            judged["before"] += before
            judged["after"] += after
        entry[f"scale{level}"] = scales
        for when, flags in judged.items():
            entry[f"coverage{level}_{when}"] = float(np.mean(flags)) if flags else None
        entry["judged"] = len(judged["before"])
    return entry


def calibrate(found: dict) -> dict[str, dict[str, dict[str, Any]]]:
    """Return {series: {method: scales per horizon, coverage before/after}} from the misses."""
    grouped: dict = defaultdict(dict)
    for (name, method, h), scores in found.items():
        if scores:
            grouped[(name, method)][h] = [s[3] for s in scores]
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (name, method), per_horizon in sorted(grouped.items()):
        out[name][method] = _entry(per_horizon)
    return dict(out)


def calibrated_band(band: dict[str, np.ndarray], scales: dict[str, Any] | None) -> dict:
    """Return the band widened (or narrowed) about its point by each horizon's level scale."""
    if not scales:
        return band
    point = band["point"]
    out = {"point": point}
    for level in LEVELS:
        known = np.asarray(scales[f"scale{level}"], float)
        # horizons past the backtested ones keep the longest backtested horizon's scale
        scale = known[np.minimum(np.arange(len(point)), len(known) - 1)]
        out[f"lo{level}"] = point - scale * (point - band[f"lo{level}"])
        out[f"hi{level}"] = point + scale * (band[f"hi{level}"] - point)
    # Separate scales per level could cross: keep the 95 % band around the 80 % one.
    out["lo95"], out["hi95"] = (
        np.minimum(out["lo95"], out["lo80"]),
        np.maximum(out["hi95"], out["hi80"]),
    )
    return out
