"""Survival-based lifetime and LTV: lifetimes from subscriptions, Weibull mean vs known truth."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pytest

from tenure.metrics.lifetime import account_lifetimes, mean_lifetime_months, survival_ltv
from tenure.metrics.serving import known_at

END = datetime(2025, 7, 1)


def _subs(rows):
    names = ("account_id", "mrr", "started_at", "ended_at")
    return pa.table(
        {n: [r[i] for r in rows] for i, n in enumerate(names)},
        schema=pa.schema(
            [("account_id", pa.int64()), ("mrr", pa.int64()),
             ("started_at", pa.timestamp("us")), ("ended_at", pa.timestamp("us"))]
        ),
    )  # fmt: skip


def test_lifetimes_follow_paid_subscriptions_known_by_the_end():
    """Churned = every paid row ended before end; trials, later starts and later ends ignored."""
    table = _subs(
        [
            (1, 100, datetime(2025, 1, 1), datetime(2025, 3, 1)),
            (1, 150, datetime(2025, 3, 1), datetime(2025, 4, 1)),  # churned 2025-04-01
            (2, 100, datetime(2025, 2, 1), None),  # open: censored at END
            (3, 100, datetime(2025, 5, 1), datetime(2025, 9, 1)),  # ends after END: open
            (4, 0, datetime(2025, 1, 1), None),  # trial only: not a paying account
            (5, 100, datetime(2025, 8, 1), None),  # starts after END: unknown yet
        ]
    )
    months, churned = account_lifetimes(table, END)
    days = np.round(months * 365.25 / 12).astype(int).tolist()
    assert days == [90, 150, 61] and churned.tolist() == [True, False, False]


def test_weibull_mean_recovers_constant_churn_and_agrees_with_chartmogul():
    """Geometric lifetimes with 5 %/month churn censored at 24 months: mean ≈ 1/0.05 = 20."""
    rng = np.random.default_rng(11)
    p = 0.05
    lifetimes = rng.geometric(p, size=6000).astype(float)
    churned = lifetimes <= 24
    months = np.minimum(lifetimes, 24.0)
    mean = mean_lifetime_months(months, churned)
    assert mean == pytest.approx(1 / p, rel=0.08)
    arpa = 250.0
    assert survival_ltv(arpa, mean) == pytest.approx(arpa / p, rel=0.08)  # ChartMogul's LTV


def test_decreasing_hazard_gives_a_longer_mean_than_a_constant_rate_projection():
    """Weibull ρ < 1 (churn falls with tenure): the fit recovers the true mean λΓ(1+1/ρ)."""
    rng = np.random.default_rng(5)
    shape, scale = 0.7, 30.0
    lifetimes = scale * rng.weibull(shape, size=8000)
    horizon = 36.0
    mean = mean_lifetime_months(np.minimum(lifetimes, horizon), lifetimes <= horizon)
    from math import gamma

    assert mean == pytest.approx(scale * gamma(1 + 1 / shape), rel=0.1)


def test_too_few_churned_accounts_give_no_lifetime():
    """With fewer than five churned accounts there is no fit and no survival LTV."""
    assert mean_lifetime_months(np.array([3.0, 4.0, 5.0]), np.array([True, False, False])) is None
    assert survival_ltv(100.0, None) is None and survival_ltv(None, 12.0) is None


def test_known_at_drops_later_starts_and_reopens_later_ends():
    """Only what was known at the instant remains: later rows gone, later ends unknown."""
    table = _subs(
        [
            (1, 100, datetime(2025, 1, 1), datetime(2025, 6, 15)),
            (2, 100, datetime(2025, 1, 1), datetime(2025, 7, 15)),
            (3, 100, datetime(2025, 7, 2), None),
        ]
    )
    known = known_at(table, END).to_pylist()
    assert [(r["account_id"], r["ended_at"]) for r in known] == [
        (1, datetime(2025, 6, 15)),
        (2, None),
    ]
