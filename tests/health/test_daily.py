"""The daily stage: measure values, scorecard choice, re-weighting, history, idempotence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tenure.db.session import session_scope
from tenure.health.daily import recompute_day
from tenure.health.models import HealthScore, UsageBase
from tenure.pipeline import STAGES

from .conftest import DAY


def build(book) -> None:
    """A steady account, a fading one, a new one, one renewing soon and one gone."""
    book.account("steady", seats=10)
    book.account("fading", seats=4)
    book.account("newbie", created=DAY - timedelta(days=20), seats=5)
    book.account("renewing", interval="year", started=DAY - timedelta(days=365 - 46))
    book.account("gone", ended=DAY - timedelta(days=29))
    names = ["login", "report_viewed", "export_run"]
    users = [f"u{i}" for i in range(5)]
    book.daily_events("steady", DAY - timedelta(days=59), DAY, names, users)
    book.daily_events("fading", DAY - timedelta(days=59), DAY - timedelta(days=31), names, users)
    book.daily_events("newbie", DAY - timedelta(days=19), DAY, ["login"], ["n1"])
    book.daily_events("renewing", DAY - timedelta(days=59), DAY, ["login", "api_call"], ["r1"])
    book.ticket("fading", DAY - timedelta(days=3), priority="urgent")
    book.failed_invoice("fading", DAY - timedelta(days=10))
    book.survey("renewing", "nps", 9, DAY - timedelta(days=40))


def stored(engine, day) -> dict[str, HealthScore]:
    with session_scope(engine) as s:
        rows = s.scalars(select(HealthScore).where(HealthScore.as_of == day)).all()
        return {r.account_id: r for r in rows}


def test_health_runs_after_metrics_and_before_segments():
    names = [s.key for s in STAGES]
    assert names.index("health") > names.index("sync")
    if "segments" in names:
        assert names.index("health") < names.index("segments")


def test_daily_stage_computes_the_measures_and_chooses_the_scorecard(book, settings, engine):
    build(book)
    summary = recompute_day(settings, engine, DAY)
    assert summary["accounts"] == 4  # "gone" has no live subscription
    rows = stored(engine, DAY)
    steady, fading = rows[book.ids["steady"]], rows[book.ids["fading"]]
    assert rows[book.ids["newbie"]].scorecard == "onboarding"
    assert rows[book.ids["renewing"]].scorecard == "renewal"
    assert steady.scorecard == fading.scorecard == "standard"
    m = steady.measures
    assert m["usage_depth"]["value"] == pytest.approx(90 / 10)  # 3 events × 30 days per seat
    assert m["usage_breadth"]["value"] == 3
    assert m["login_recency"]["value"] == 0
    assert m["seat_utilisation"]["value"] == pytest.approx(0.3)  # u0..u2 active of 10 seats
    assert m["usage_trend"]["value"] == pytest.approx(0.0)
    assert m["support_load"]["value"] == 0 and m["billing_health"]["value"] == 0
    assert {n for n, x in m.items() if x["missing"]} == {"csat", "nps", "churn_probability"}
    f = fading.measures
    assert f["usage_trend"]["value"] == pytest.approx(-1.0)
    assert f["login_recency"]["value"] == 31
    assert f["support_load"]["value"] == 3.0  # one urgent ticket
    assert f["billing_health"]["value"] == 1
    # the score is the re-weighted mean of the present measures
    present = {n: x for n, x in m.items() if not x["missing"]}
    expected = sum(x["weight"] * x["score"] for x in present.values()) / sum(
        x["weight"] for x in present.values()
    )
    assert steady.score == pytest.approx(expected, abs=0.02)
    assert steady.tier == "green" and fading.tier == "red"


def test_rerunning_a_day_replaces_it_and_history_gives_trend_and_reason(book, settings, engine):
    build(book)
    week_ago = DAY - timedelta(days=7)
    recompute_day(settings, engine, week_ago)
    recompute_day(settings, engine, DAY)
    recompute_day(settings, engine, DAY)
    with session_scope(engine) as s:
        count = s.scalar(select(func.count()).where(HealthScore.as_of == DAY))
        base_day = s.scalar(select(func.max(UsageBase.base_day)))
    assert count == 4
    assert base_day == DAY
    before, now = stored(engine, week_ago), stored(engine, DAY)
    fading = book.ids["fading"]
    assert now[fading].change_7d == pytest.approx(now[fading].score - before[fading].score)
    assert now[fading].change_30d is None
    # the urgent ticket and the failed payment came within the week, usage stopped before it
    moved = {
        n: now[fading].measures[n]["points"] - before[fading].measures[n]["points"]
        for n in now[fading].measures
    }
    top = max(moved, key=lambda n: abs(moved[n]))
    assert now[fading].reason.startswith(top)
