"""The programme report: churn of members vs holdout with an interval, checked by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from scipy import stats

from tenure.db.session import session_scope
from tenure.loyalty.models import LoyaltyEnrolment
from tenure.loyalty.report import churn_counts, churn_effect

from ..factories import add_account, add_subscription


def test_effect_matches_an_independent_welch_interval():
    """40/400 members vs 60/380 holdout: the difference and a Welch interval computed here."""
    out = churn_effect((400, 40), (380, 60))
    p1, p2 = 40 / 400, 60 / 380
    v1, v2 = p1 * (1 - p1) / 400, p2 * (1 - p2) / 380
    dof = (v1 + v2) ** 2 / (v1**2 / 399 + v2**2 / 379)
    half = stats.t.ppf(0.975, dof) * math.sqrt(v1 + v2)
    assert out["effect"] == pytest.approx(p1 - p2)
    assert out["effect_ci_low"] == pytest.approx(p1 - p2 - half)
    assert out["effect_ci_high"] == pytest.approx(p1 - p2 + half)
    # close to the textbook Wald interval with z = 1.96 at these sizes
    assert half == pytest.approx(1.96 * math.sqrt(v1 + v2), rel=0.01)


def test_effect_is_empty_without_two_accounts_per_arm():
    out = churn_effect((1, 0), (10, 2))
    assert out["effect"] is None and out["churn_holdout"] == pytest.approx(0.2)


def test_churn_counts_follow_subscriptions_90_days_on(engine, frozen_clock):
    """Enrolled 2025-01-10: churned if no subscription is in force 90 days later."""
    enrolled = datetime(2025, 1, 10, tzinfo=UTC)
    cases = [("member", None), ("member", datetime(2025, 3, 1, tzinfo=UTC)),
             ("holdout", None), ("holdout", datetime(2025, 8, 1, tzinfo=UTC))]  # fmt: skip
    with session_scope(engine) as session:
        for arm, ended in cases:
            account = add_account(session)
            add_subscription(session, account, ended_at=ended)
            session.add(LoyaltyEnrolment(account_id=account.id, arm=arm, enrolled_at=enrolled))
        late = add_account(session)  # enrolled under 90 days ago: not counted yet
        add_subscription(session, late)
        session.add(LoyaltyEnrolment(account_id=late.id, arm="member",
                                     enrolled_at=datetime(2025, 5, 1, tzinfo=UTC)))  # fmt: skip
    with session_scope(engine) as session:
        assert churn_counts(session, frozen_clock.now().date()) == {
            "member": (2, 1),
            "holdout": (2, 0),
        }


def test_an_arm_without_variation_gives_no_interval():
    """0 of 30 holdout accounts churned: its variance reads 0, so no interval (measured.py's rule)."""
    out = churn_effect((300, 12), (30, 0))
    assert out["effect"] == pytest.approx(12 / 300)
    assert out["effect_ci_low"] is None and out["effect_ci_high"] is None
