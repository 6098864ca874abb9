"""AUC against independent implementations; backtest days and labels on a small book."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from sklearn.metrics import roc_auc_score

from tenure.churn.models import ChurnScore
from tenure.db.session import session_scope
from tenure.health import scorecards as sc
from tenure.health.backtest import auc, backtest_dates, gather, run_backtest
from tenure.health.compute import assign_scorecards
from tenure.health.scorecards import default_scorecards

from .conftest import DAY, at


def test_auc_matches_sklearn_and_mann_whitney_with_ties():
    rng = np.random.default_rng(3)
    churned = rng.random(2000) < 0.2
    risk = np.round(rng.normal(churned * 0.7, 1.0), 1)  # rounding makes many ties
    ours = auc(risk, churned)
    assert ours == pytest.approx(roc_auc_score(churned, risk), abs=1e-12)
    u = mannwhitneyu(risk[churned], risk[~churned]).statistic
    assert ours == pytest.approx(u / (churned.sum() * (~churned).sum()), abs=1e-12)
    assert auc(risk, np.zeros(10, dtype=bool)) is None


def test_backtest_days_step_back_from_the_end_minus_the_horizon():
    days = backtest_dates(date(2025, 6, 30), 90, 30, 3)
    assert days == [date(2025, 1, 31), date(2025, 3, 2), date(2025, 4, 1)]


def test_churn_label_is_live_then_gone_within_the_horizon(book, settings, engine):
    past_day = DAY - timedelta(days=120)
    book.account("stays")
    book.account("leaves", ended=past_day + timedelta(days=60))
    book.account("left_later", ended=past_day + timedelta(days=95))
    book.account("not_yet", created=past_day + timedelta(days=10))
    [past] = gather(settings, engine, [past_day], 90, default_scorecards())
    labels = dict(zip(past.accounts["account_id"], past.churned, strict=True))
    ids = book.ids
    assert labels == {ids["stays"]: False, ids["leaves"]: True, ids["left_later"]: False}


def test_backtest_puts_the_churn_model_auc_beside_health_on_its_days(book, settings, engine):
    past_day = DAY - timedelta(days=120)
    book.account("late_signup", created=DAY - timedelta(days=1))  # data reach DAY
    with session_scope(engine) as s:
        for i in range(12):
            leaves = i % 3 == 0
            name = f"acc{i}"
            book.account(name, ended=past_day + timedelta(days=30) if leaves else None)
            s.add(
                ChurnScore(
                    account_id=book.ids[name],
                    as_of=past_day,
                    horizon_days=90,
                    model_version="v1",
                    probability=0.8 if leaves else 0.1,
                    risk_tier="high" if leaves else "low",
                    reasons=[],
                    scored_at=at(past_day),
                )
            )
    result = run_backtest(settings, engine)
    assert result["dates"] == [past_day.isoformat()]  # the model's scoring day
    assert result["churned"] == 4 and result["observations"] == 12
    assert result["churn_model"]["auc"] == 1.0
    assert result["churn_model"]["observations"] == 12
    assert result["churn_model"]["health_auc_same_accounts"] == result["auc"]


def test_segment_scorecards_apply_to_their_members_first():
    cards = [
        sc.parse_definition({"name": "vip", "priority": 1, "applies_to": {"segment": "vip"},
                             "measure": [{"name": "nps", "weight": 1, "percentile": True}]}),
        sc.parse_definition({"name": "new", "priority": 2, "applies_to": {"lifecycle": ["onboarding"]},
                             "measure": [{"name": "nps", "weight": 1, "percentile": True}]}),
        sc.parse_definition({"name": "rest", "measure": [{"name": "nps", "weight": 1, "percentile": True}]}),
    ]  # fmt: skip
    accounts = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 4],
            "lifecycle": ["onboarding", "onboarding", "adoption", "renewal"],
        }
    )
    chosen = assign_scorecards(cards, accounts, {"vip": {1, 4}})
    assert chosen.tolist() == ["vip", "new", "rest", "vip"]
