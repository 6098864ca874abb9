"""Interval calibration: bands too narrow by a known factor are widened to nominal coverage."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.reports.forecast.calibration import calibrate, calibrated_band, scale_for, scored_miss


def _found(width_factor: float, origins: int = 40, seed: int = 0) -> dict:
    """Return backtest scores of a normal band whose sd is width_factor too small."""
    rng = np.random.default_rng(seed)
    z80, z95 = 1.2815515655446004, 1.959963984540054
    sd = 1.0 / width_factor
    band = {"point": np.zeros(1), "lo80": np.array([-z80 * sd]), "hi80": np.array([z80 * sd])}
    band |= {"lo95": np.array([-z95 * sd]), "hi95": np.array([z95 * sd])}
    scores = []
    for origin in range(origins):
        actual = float(rng.normal())
        scores.append((None, 0, 0, scored_miss(actual, band, 0, origin)))
    return {("mrr", "model", 1): scores}


def test_scale_recovers_the_missing_width_and_coverage_out_of_time() -> None:
    entry = calibrate(_found(2.0, origins=400))["mrr"]["model"]
    assert entry["scale80"][0] == pytest.approx(2.0, rel=0.15)
    assert entry["scale95"][0] == pytest.approx(2.0, rel=0.15)
    assert entry["coverage80_before"] < 0.5  # 2 × too narrow: P(|z| < 0.64) ≈ 0.48
    assert entry["coverage80_after"] == pytest.approx(0.8, abs=0.06)
    assert entry["coverage95_after"] == pytest.approx(0.95, abs=0.04)


def test_miss_is_relative_to_the_side_the_actual_fell() -> None:
    band = {"point": np.array([10.0]), "lo80": np.array([8.0]), "hi80": np.array([14.0])}
    band |= {"lo95": np.array([6.0]), "hi95": np.array([20.0])}
    miss = scored_miss(16.0, band, 0, origin=3)
    assert (miss.origin, miss.target, miss.miss80, miss.miss95) == (3, 3, 1.5, 0.6)
    assert scored_miss(7.0, band, 0, origin=0).miss80 == 1.5  # (10 − 7) / (10 − 8)
    assert scale_for(np.array([np.inf, np.inf]), 0.8) == 10.0  # zero-width band: capped
    assert scale_for(np.array([0.1, 0.2, 0.3]), 0.8) == 1.0  # too wide: never narrowed


def test_calibrated_band_scales_about_the_point_and_keeps_nesting() -> None:
    band = {"point": np.array([10.0, 10.0]), "lo80": np.array([9.0, 8.0])}
    band |= {"hi80": np.array([11.0, 12.0]), "lo95": np.array([8.0, 7.0])}
    band["hi95"] = np.array([12.0, 13.0])
    out = calibrated_band(band, {"scale80": [2.0], "scale95": [1.0]})
    assert out["lo80"].tolist() == [8.0, 6.0] and out["hi80"].tolist() == [12.0, 14.0]
    assert out["lo95"].tolist() == [8.0, 6.0] and out["hi95"].tolist() == [12.0, 14.0]
