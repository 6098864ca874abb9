"""Real-time path: record_events → roll-ups and queue → refresher → tier_change / score_drop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tenure.db.session import session_scope
from tenure.events.service import record_events, sync_inbox
from tenure.health.daily import recompute_day
from tenure.health.models import HealthRefreshQueue, HealthScore, UsageDaily
from tenure.health.realtime import dequeue, queue_marks, queue_refresh
from tenure.health.refresher import ScoreRefresher
from tenure.notifications import get_bus
from tenure.warehouse.connection import open_warehouse

from .conftest import DAY, Book, at

FEATURES = ["login", "report_viewed", "dashboard_created", "export_run", "api_call", "user_invited"]


@pytest.fixture
def live(any_settings, any_engine, frozen_clock):
    """A book with a quiet account a, an active b and c, scored yesterday by the daily stage."""
    book = Book(any_settings, any_engine)
    for name in ("a", "b", "c"):
        book.account(name, seats=10)
    for name in ("b", "c"):
        book.daily_events(
            name, DAY - timedelta(days=59), DAY - timedelta(days=1), FEATURES[:3], ["x1", "x2"]
        )
    book.ticket(
        "b", DAY - timedelta(days=100), status="closed", closed_at=at(DAY - timedelta(days=99))
    )
    recompute_day(any_settings, any_engine, DAY - timedelta(days=1))
    return book


@pytest.fixture
def refresher(any_settings, any_engine, frozen_clock):
    """The refresher a server would own, started and stopped around the test."""
    refresher = ScoreRefresher(any_engine, any_settings).start()
    yield refresher
    refresher.stop()


def record(engine, batch, refresher=None) -> frozenset[int]:
    """Record a batch as the tracking route does: commit, then hand the accounts over."""
    with session_scope(engine) as s:
        result = record_events(batch, db_session=s, login_events=["login"])
    if refresher is not None:
        refresher.submit(result.touched_accounts)
    return result.touched_accounts


def queued(engine) -> dict[int, object]:
    with session_scope(engine) as s:
        query = select(HealthRefreshQueue.account_id, HealthRefreshQueue.queued_at)
        return dict(s.execute(query).all())


def today_row(engine, account_id) -> HealthScore | None:
    with session_scope(engine) as s:
        return s.scalar(
            select(HealthScore).where(
                HealthScore.account_id == account_id, HealthScore.as_of == DAY
            )
        )


def burst(account: str, tag: str = "") -> list[dict]:
    return [
        {
            "message_id": f"{account}-{tag}{i}",
            "account_id": account,
            "contact_id": f"user{i}",
            "event": name,
            "timestamp": at(DAY, 8 + i % 4).isoformat(),
        }
        for i, name in enumerate(FEATURES)
    ]


def test_events_update_today_score_and_publish_a_tier_change(live, any_engine, refresher):
    a = live.ids["a"]
    assert today_row(any_engine, a) is None
    with get_bus().subscribe() as notes:
        assert record(any_engine, burst("a"), refresher) == {a}
        assert refresher.flush(timeout=30)
        received = notes.drain()
    row = today_row(any_engine, a)
    assert row is not None
    m = row.measures
    assert m["usage_breadth"]["value"] == 6
    assert m["login_recency"]["value"] == 0
    assert m["seat_utilisation"]["value"] == pytest.approx(0.6)
    assert m["usage_trend"]["value"] == 1.0  # from nothing to something
    changes = [n for n in received if n.kind == "tier_change" and n.account_id == a]
    assert len(changes) == 1
    assert changes[0].payload["from_tier"] == "red"
    assert changes[0].payload["to_tier"] == row.tier != "red"
    assert changes[0].payload["source"] == "realtime"


def test_duplicates_are_not_counted_twice_and_rollbacks_leave_nothing(live, any_engine):
    a = live.ids["a"]
    assert record(any_engine, burst("a")) == {a}
    assert record(any_engine, burst("a")) == frozenset()  # same message ids: nothing touched
    with session_scope(any_engine) as s:
        s.execute(HealthRefreshQueue.__table__.delete())
    with pytest.raises(RuntimeError), session_scope(any_engine) as s:
        record_events(burst("a", "rolled-back-"), db_session=s, login_events=["login"])
        raise RuntimeError("request failed after recording")
    with session_scope(any_engine) as s:
        usage = s.scalar(select(UsageDaily).where(UsageDaily.account_id == a))
    assert (usage.events, usage.logins, usage.day) == (6, 1, DAY)
    assert queued(any_engine) == {}


def test_a_fall_past_the_threshold_publishes_one_score_drop(live, any_engine, refresher):
    c = live.ids["c"]
    for _ in range(4):
        live.ticket("c", DAY, priority="urgent")
    for _ in range(3):
        live.failed_invoice("c", DAY)
    with get_bus().subscribe() as notes:
        record(any_engine, burst("c")[:1], refresher)
        assert refresher.flush(timeout=30)
        record(any_engine, burst("c", "again-")[:1], refresher)
        assert refresher.flush(timeout=30)
        drops = [n for n in notes.drain() if n.kind == "score_drop" and n.account_id == c]
    assert len(drops) == 1  # not again on the second refresh the same day
    assert drops[0].payload["drop"] >= 10


def test_real_time_usage_matches_the_daily_stage_after_sync(
    live, any_settings, any_engine, refresher
):
    a = live.ids["a"]
    record(any_engine, burst("a"), refresher)
    assert refresher.flush(timeout=30)
    realtime = today_row(any_engine, a).measures
    with open_warehouse(any_settings) as warehouse:
        sync_inbox(engine=any_engine, warehouse=warehouse)
    recompute_day(any_settings, any_engine, DAY)
    daily = today_row(any_engine, a).measures
    for name in (
        "usage_depth",
        "usage_breadth",
        "login_recency",
        "seat_utilisation",
        "usage_trend",
    ):
        assert realtime[name]["value"] == daily[name]["value"], name


def test_the_queue_row_commits_with_the_events_and_goes_with_the_refreshed_score(
    live, any_engine, refresher
):
    a = live.ids["a"]
    record(any_engine, burst("a"))  # committed, not yet handed over (as if the process died)
    assert set(queued(any_engine)) == {a}
    assert today_row(any_engine, a) is None
    refresher.submit({a})
    assert refresher.flush(timeout=30)
    assert today_row(any_engine, a).measures["usage_breadth"]["value"] == 6
    assert queued(any_engine) == {}


def test_a_starting_refresher_refreshes_what_a_crash_left_queued(
    live, any_settings, any_engine, frozen_clock
):
    a, b = live.ids["a"], live.ids["b"]
    record(any_engine, burst("a") + burst("b"))  # committed; the refresher never heard of it
    assert set(queued(any_engine)) == {a, b}
    refresher = ScoreRefresher(any_engine, any_settings).start()
    try:
        assert refresher.flush(timeout=30)
    finally:
        refresher.stop()
    assert today_row(any_engine, a).measures["usage_breadth"]["value"] == 6
    assert today_row(any_engine, b) is not None
    assert queued(any_engine) == {}


def test_a_refresh_keeps_an_account_queued_again_while_it_ran(live, any_engine, frozen_clock):
    a, b = live.ids["a"], live.ids["b"]
    with session_scope(any_engine) as s:
        queue_refresh(db_session=s, account_ids={a, b})
    with session_scope(any_engine) as s:
        marks = queue_marks(db_session=s, account_ids={a, b})  # the refresh reads these first
    frozen_clock.advance(timedelta(milliseconds=5))
    record(any_engine, burst("a"))  # new events for a commit while the refresh computes
    with session_scope(any_engine) as s:
        dequeue(db_session=s, marks=marks)
    assert set(queued(any_engine)) == {a}


def test_the_delay_coalesces_and_stop_refreshes_what_is_pending(any_settings, any_engine, live):
    refresher = ScoreRefresher(
        any_engine, any_settings.model_copy(update={"health_refresh_delay_seconds": 600.0})
    ).start()
    a = live.ids["a"]
    refresher.submit(record(any_engine, burst("a")[:3]))
    refresher.submit(record(any_engine, burst("a")[3:]))
    assert not refresher.flush(timeout=0.3)  # waiting out the delay
    assert today_row(any_engine, a) is None
    refresher.stop()  # a graceful stop does not wait out the delay
    assert today_row(any_engine, a).measures["usage_breadth"]["value"] == 6
    assert queued(any_engine) == {}
    assert refresher.submit({a}) is False
