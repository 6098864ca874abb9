"""Point forecasts and 80 %/95 % intervals per method: the model and two naive baselines."""

from __future__ import annotations

import numpy as np

from tenure.reports.forecast.history import SERIES, History
from tenure.reports.forecast.model import simulate

Z = {"80": 1.2815515655446004, "95": 1.959963984540054}
QUANTILES = {"lo80": 10.0, "hi80": 90.0, "lo95": 2.5, "hi95": 97.5}
SEASON = 12
METHODS = ("model", "naive", "seasonal_naive")

Band = dict[str, np.ndarray]  # point, lo80, hi80, lo95, hi95: arrays over horizons 1..H


def model_bands(history: History, horizon: int, seed: int = 0) -> dict[str, Band]:
    """Return the simulation model's median and percentile bands for every series."""
    paths = simulate(history, horizon, seed)
    bands = {}
    for name in SERIES:
        values = getattr(paths, name)
        band = {"point": np.median(values, axis=0)}
        band |= {key: np.percentile(values, q, axis=0) for key, q in QUANTILES.items()}
        bands[name] = band
    return bands


def _normal_band(point: np.ndarray, sd: np.ndarray) -> Band:
    """Return point ± z·sd for the 80 % and 95 % levels."""
    band = {"point": point}
    for level, z in Z.items():
        band[f"lo{level}"], band[f"hi{level}"] = point - z * sd, point + z * sd
    return band


def naive_band(y: np.ndarray, horizon: int) -> Band:
    """Return the last value carried forward; sd grows with √h from one-month changes."""
    steps = np.arange(1, horizon + 1)
    sd = float(np.std(np.diff(y), ddof=1)) if len(y) > 2 else 0.0
    return _normal_band(np.full(horizon, y[-1], dtype=float), sd * np.sqrt(steps))


def seasonal_naive_band(y: np.ndarray, horizon: int) -> Band | None:
    """Return the value of the same month a year before; None with under 13 months."""
    if len(y) <= SEASON:
        return None
    steps = np.arange(1, horizon + 1)
    point = y[len(y) - SEASON + (steps - 1) % SEASON].astype(float)
    changes = y[SEASON:] - y[:-SEASON]
    sd = float(np.std(changes, ddof=1)) if len(changes) > 1 else 0.0
    return _normal_band(point, sd * np.sqrt(np.ceil(steps / SEASON)))


def all_bands(history: History, horizon: int, seed: int = 0) -> dict[str, dict[str, Band]]:
    """Return {series: {method: band}} for the model and the baselines that apply."""
    model = model_bands(history, horizon, seed)
    out: dict[str, dict[str, Band]] = {}
    for name in SERIES:
        y = history.series(name)
        out[name] = {"model": model[name], "naive": naive_band(y, horizon)}
        seasonal = seasonal_naive_band(y, horizon)
        if seasonal is not None:
            out[name]["seasonal_naive"] = seasonal
    return out
