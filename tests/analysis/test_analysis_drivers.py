"""Churn drivers: metric cohorts, the Cramér's V score, grouping of correlated metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.analysis.drivers import (
    churn_drivers,
    cohort_labels,
    cramers_v,
    drivers_report,
    metric_driver,
)
from tenure.analysis.frame import AnalysisFrame


def test_deciles_split_a_continuous_metric_into_ten_equal_cohorts():
    labels = cohort_labels(pd.Series(np.arange(1, 101, dtype=float)))
    counts = pd.Series(labels).value_counts(sort=False)
    assert len(counts) == 10 and set(counts) == {10}
    assert labels.categories[0] == "1–10.9"


def test_low_cardinality_metric_gets_one_cohort_per_value_and_missing_its_own():
    labels = cohort_labels(pd.Series([0, 1, 1, None, 3.0]))
    assert list(labels.categories) == ["0", "1", "3", "missing"]
    assert list(labels) == ["0", "1", "1", "missing", "3"]


def test_categorical_cohorts_and_churn_rates():
    values = pd.Series(["a", "a", "b", "b", "b", None], dtype=object)
    churned = pd.Series([1, 0, 0, 0, 1, 1])
    driver = metric_driver("plan", values, churned)
    assert [(c.label, c.accounts, c.churn_rate) for c in driver.cohorts] == [
        ("a", 2, 0.5),
        ("b", 3, pytest.approx(1 / 3)),
        ("missing", 1, 1.0),
    ]
    assert driver.kind == "categorical"
    assert driver.spread == pytest.approx(2 / 3)


def test_score_is_the_bias_corrected_cramers_v_of_the_cohort_churn_table():
    """Cohort A: 100 accounts, 40 churned; cohort B: 300 accounts, 30 churned. p = 70/400.
    χ² = Σ nᵢ (pᵢ − p)² / (p (1 − p)) = (100·0.225² + 300·0.075²) / (0.175·0.825) = 9600/144.375
    = 1.5 · 44.3290… ; φ² = χ²/N; Bergsma: φ²₊ = φ² − 1/(N − 1), k₊ = 2 − 1/(N − 1),
    V = √(φ²₊ / (k₊ − 1))."""
    values = pd.Series(["A"] * 100 + ["B"] * 300)
    churned = pd.Series([1] * 40 + [0] * 60 + [1] * 30 + [0] * 270)
    n = 400
    chi2 = (100 * 0.225**2 + 300 * 0.075**2) / (0.175 * 0.825)
    phi2 = chi2 / n - 1 / (n - 1)
    expected = np.sqrt(phi2 / (1 - 1 / (n - 1)))

    assert metric_driver("x", values, churned).score == pytest.approx(expected, rel=1e-9)
    assert cramers_v(values, churned) == pytest.approx(expected, rel=1e-9)


def test_cramers_v_is_one_for_identical_and_near_zero_for_independent_labels():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 2000)
    assert cramers_v(a, a) == pytest.approx(1.0)
    assert cramers_v(a, rng.integers(0, 2, 2000)) < 0.05


def test_drivers_rank_by_score_and_group_copies_of_one_signal():
    rng = np.random.default_rng(1)
    n = 2000
    usage = rng.gamma(2.0, 10.0, n)
    churned = (rng.random(n) < 1 / (1 + np.exp(0.15 * (usage - 20)))).astype(int)
    data = pd.DataFrame(
        {
            "duration": 1.0,
            "event": churned,
            "usage": usage,
            "usage_x2": usage * 2 + rng.normal(0, 1, n),  # a copy of usage
            "noise": rng.normal(0, 1, n),
            "tier": np.where(usage > 20, "heavy", "light"),  # derived from usage
            "color": rng.choice(["red", "blue"], n),
        }
    )
    frame = AnalysisFrame(
        data=data, numeric=["usage", "usage_x2", "noise"], categorical=["tier", "color"]
    )

    drivers = churn_drivers(frame)
    ranked = [d.metric for d in drivers]
    groups = {d.metric: d.group for d in drivers}

    assert set(ranked[:3]) == {"usage", "usage_x2", "tier"}
    assert set(ranked[3:]) == {"noise", "color"}
    assert groups["usage_x2"] == groups["usage"] == ranked[0]
    assert groups["noise"] == "noise" and groups["color"] == "color"
    assert [d.score for d in drivers] == sorted((d.score for d in drivers), reverse=True)

    report = drivers_report(frame, drivers)
    assert report["accounts"] == n
    first = report["drivers"][0]
    assert set(first) == {"metric", "kind", "score", "spread", "group", "cohorts"}
    assert set(first["cohorts"][0]) == {"label", "accounts", "churn_rate"}
    assert sum(c["accounts"] for c in first["cohorts"]) == n
