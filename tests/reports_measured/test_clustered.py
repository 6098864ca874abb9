"""Cluster-robust treated − holdout intervals: an account's repeated outcomes are not new evidence."""

from __future__ import annotations

import numpy as np

from tenure.reports import measured


def test_unique_accounts_keep_welchs_interval():
    rng = np.random.default_rng(0)
    treated, holdout = rng.random(200) < 0.8, rng.random(150) < 0.7
    ids = (np.arange(200), np.arange(200, 350))
    plain = measured.arm_difference(treated * 1.0, holdout * 1.0)
    clustered = measured.arm_difference(treated * 1.0, holdout * 1.0, ids)
    assert plain == clustered


def test_repeated_outcomes_of_one_account_widen_the_interval():
    rng = np.random.default_rng(1)
    treated, holdout = (rng.random(100) < 0.8) * 1.0, (rng.random(100) < 0.7) * 1.0
    ids = (np.arange(100), np.arange(100, 200))
    once = measured.arm_difference(treated, holdout, ids)
    thrice = measured.arm_difference(np.repeat(treated, 3), np.repeat(holdout, 3),
                                     (np.repeat(ids[0], 3), np.repeat(ids[1], 3)))  # fmt: skip
    naive = measured.arm_difference(np.repeat(treated, 3), np.repeat(holdout, 3))
    assert thrice.estimate == once.estimate
    assert thrice.ci_high - thrice.ci_low > 1.5 * (naive.ci_high - naive.ci_low)
    assert abs((thrice.ci_high - thrice.ci_low) / (once.ci_high - once.ci_low) - 1) < 0.1


def test_clustered_interval_covers_at_its_level():
    rng = np.random.default_rng(2)
    covered = []
    for _ in range(300):
        account_p = rng.uniform(0.5, 0.95, 80)  # each account has its own retention
        visits = rng.integers(1, 4, 80)
        ids = np.repeat(np.arange(80), visits)
        arm = rng.random(len(ids)) < 0.5
        y = (rng.random(len(ids)) < account_p[ids] + 0.05 * arm) * 1.0
        diff = measured.arm_difference(y[arm], y[~arm], (ids[arm], ids[~arm]))
        covered.append(diff.ci_low <= 0.05 <= diff.ci_high)
    assert 0.9 <= np.mean(covered) <= 0.99
