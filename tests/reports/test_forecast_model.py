"""The forecast on a book drawn from a known process: coverage, well-formed bands, the rule."""

from __future__ import annotations

import numpy as np
import pytest
from tests.reports.forecast_books import synthetic_history

from tenure.reports.forecast.history import SERIES
from tenure.reports.forecast.methods import METHODS, naive_band, seasonal_naive_band
from tenure.reports.forecast.model import simulate
from tenure.reports.forecast.report import forecast_report


def test_model_intervals_cover_held_out_months_near_nominal() -> None:
    inside80, inside95 = [], []
    for seed in range(6):  # independent books: fit on 30 months, hold out the next 6
        book = synthetic_history(36, seed=seed)
        paths = simulate(book.head(30), 6, seed=seed)
        for name in SERIES:
            values, actual = getattr(paths, name), book.series(name)[30:]
            lo80, hi80 = np.percentile(values, [10, 90], axis=0)
            lo95, hi95 = np.percentile(values, [2.5, 97.5], axis=0)
            inside80 += list((lo80 <= actual) & (actual <= hi80))
            inside95 += list((lo95 <= actual) & (actual <= hi95))
    assert 0.65 <= np.mean(inside80) <= 0.95
    assert np.mean(inside95) >= 0.85


def test_report_is_well_formed_and_follows_the_rule() -> None:
    report = forecast_report(synthetic_history(30, seed=9), months=6, max_origins=6)
    assert [row["horizon"] for row in report["forecast"]] == [1, 2, 3, 4, 5, 6]
    assert report["forecast"][0]["month"] == "2024-07"
    for row in report["forecast"]:
        for name in SERIES:
            c = row[name]
            assert c["method"] in METHODS
            assert c["lo95"] <= c["lo80"] <= c["point"] <= c["hi80"] <= c["hi95"]
    for name in SERIES:
        for row in report["backtest"][name]:
            assert row["n"] == 6 - row["horizon"] + 1
            mapes = {m: row[m]["mape"] for m in METHODS if m in row}
            if row["method"] == "model":
                assert mapes["model"] <= min(mapes.values())
            else:
                assert mapes[row["method"]] < mapes["model"]
    # A growing book: the model's MRR error beats carrying the last value forward at 6 months.
    last = report["backtest"]["mrr"][-1]
    assert last["model"]["mape"] < last["naive"]["mape"]


def test_baselines() -> None:
    y = np.arange(1.0, 26.0)
    naive = naive_band(y, 3)
    assert naive["point"].tolist() == [25.0, 25.0, 25.0]
    assert naive["hi95"][0] == pytest.approx(25.0)  # steady steps of 1: no spread
    seasonal = seasonal_naive_band(y, 14)
    assert seasonal["point"][:2].tolist() == [14.0, 15.0] and seasonal["point"][12] == 14.0
    assert seasonal_naive_band(y[:12], 3) is None
