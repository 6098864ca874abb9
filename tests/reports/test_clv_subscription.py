"""Subscription CLV: survival from churn hazard and book survival, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tenure.reports.clv.subscription import (
    CAP_MONTHS,
    BookSurvival,
    subscription_clv,
    survival_matrix,
)


def test_exponential_book_and_no_score_is_a_discounted_geometric_sum() -> None:
    book = BookSurvival(rho=1.0, lam=20.0)  # constant hazard 1/20 per month
    value, lifetime = subscription_clv(
        np.array([100.0]), np.array([7.0]), np.array([np.nan]), 3.0, book,
        gross_margin=0.8, discount_rate=0.10,
    )  # fmt: skip
    q = math.exp(-1 / 20) * 1.10 ** (-1 / 12)
    expected = 100 * 0.8 * q * (1 - q**CAP_MONTHS) / (1 - q)
    assert value[0] == pytest.approx(expected, rel=1e-9)
    s = math.exp(-1 / 20)
    assert lifetime[0] == pytest.approx(s * (1 - s**CAP_MONTHS) / (1 - s), rel=1e-9)


def test_account_risk_reproduces_its_churn_probability_over_the_horizon() -> None:
    book = BookSurvival(rho=0.7, lam=30.0)  # churn falls with tenure
    p, horizon = np.array([0.05, 0.4]), 3.0
    survival = survival_matrix(np.array([12.0, 12.0]), p, horizon, book, months=3)
    assert 1 - survival[:, 2] == pytest.approx(p, rel=1e-9)
    # the riskier account is worth less, the longer-tenured one (same p) about as much
    value, _ = subscription_clv(np.array([100.0, 100.0]), np.array([12.0, 12.0]), p, horizon,
                                book, gross_margin=1.0, discount_rate=0.0)  # fmt: skip
    assert value[0] > 3 * value[1]


def test_without_a_book_fit_scored_accounts_churn_at_a_constant_rate() -> None:
    survival = survival_matrix(np.array([5.0, 5.0]), np.array([0.1, np.nan]), 3.0, None, months=6)
    assert survival[0, 2] == pytest.approx(0.9) and survival[0, 5] == pytest.approx(0.81)
    assert np.isnan(survival[1]).all()  # neither a score nor a book: unknown, not invented
