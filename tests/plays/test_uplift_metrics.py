"""Qini, uplift curve and uplift at k, checked against hand and brute-force computations."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.plays import uplift_metrics as um


def brute_qini(y, t, s):
    """Return the Qini value after each unit, recomputed from scratch at every cut."""
    order = np.argsort(-s, kind="mergesort")
    values = []
    for k in range(1, len(s) + 1):
        top = order[:k]
        n_t, n_c = t[top].sum(), (~t[top]).sum()
        y_t, y_c = y[top][t[top]].sum(), y[top][~t[top]].sum()
        values.append(y_t - (y_c * n_t / n_c if n_c else 0.0))
    return np.array(values)


def test_qini_curve_by_hand():
    # ranked: T1, C0, T1, C1, T0, C1  → Q = Y_t − Y_c·N_t/N_c after each unit
    y = np.array([1, 0, 1, 1, 0, 1], dtype=float)
    t = np.array([1, 0, 1, 0, 1, 0], dtype=bool)
    s = np.array([6, 5, 4, 3, 2, 1], dtype=float)
    x, q = um.qini_curve(um.cumulative(y, t, s))
    assert x.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert q == pytest.approx([0, 1, 1, 2, 2 - 1 * 2 / 2, 2 - 1 * 3 / 2, 2 - 2 * 3 / 3])


def test_qini_matches_brute_force_on_random_data():
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.3).astype(float)
    t = rng.random(300) < 0.5
    s = rng.normal(size=300)  # no ties
    _, q = um.qini_curve(um.cumulative(y, t, s))
    assert q[1:] == pytest.approx(brute_qini(y, t, s))


def test_ties_are_cut_together():
    y = np.array([1, 0, 0, 1], dtype=float)
    t = np.array([1, 0, 1, 0], dtype=bool)
    tied = um.cumulative(y, t, np.zeros(4))
    assert tied.n.tolist() == [4] and tied.outcome_treated.tolist() == [1]


def test_coefficient_is_one_for_ideal_ranking_and_near_zero_for_random():
    rng = np.random.default_rng(5)
    y = (rng.random(4000) < 0.3).astype(float)
    t = rng.random(4000) < 0.5
    ideal = np.where(t, y, -y)
    assert um.qini_coefficient(y, t, ideal) == pytest.approx(1.0)
    assert um.auuc(y, t, ideal) == pytest.approx(1.0)
    randoms = [um.qini_coefficient(y, t, rng.random(4000)) for _ in range(20)]
    assert abs(np.mean(randoms)) < 0.05
    assert um.qini_coefficient(y, t, -ideal) < 0


def test_uplift_at_k_and_average_effect():
    y = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=float)
    t = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0], dtype=bool)
    s = np.arange(10, 0, -1, dtype=float)
    # top 40 %: T1, C0, T1, C1 → 1 − 0.5
    assert um.uplift_at(y, t, s, 0.4) == pytest.approx(0.5)
    ate, low, high = um.average_effect(y, t)
    assert ate == pytest.approx(2 / 5 - 2 / 5)
    assert low < ate < high
