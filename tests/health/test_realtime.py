"""Real-time path: record_events → roll-ups → today's score → tier_change / score_drop."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tenure.db.session import session_scope
from tenure.events.service import record_events, sync_inbox
from tenure.health import realtime
from tenure.health.daily import recompute_day
from tenure.health.models import HealthScore, UsageDaily
from tenure.health.realtime import configure_realtime, get_refresher
from tenure.notifications import get_bus
from tenure.warehouse.connection import open_warehouse

from .conftest import DAY, Book, at

FEATURES = ["login", "report_viewed", "dashboard_created", "export_run", "api_call", "user_invited"]


@pytest.fixture
def live(any_settings, any_engine, frozen_clock):
    """A book with a quiet account a, an active b and c, scored yesterday by the daily stage."""
    configure_realtime(any_engine, any_settings)
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


def record(engine, batch) -> None:
    with session_scope(engine) as s:
        record_events(batch, db_session=s)


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


def test_events_update_today_score_and_publish_a_tier_change(live, any_engine):
    a = live.ids["a"]
    assert today_row(any_engine, a) is None
    with get_bus().subscribe() as notes:
        record(any_engine, burst("a"))
        assert get_refresher(any_engine).flush(timeout=30)
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
    record(any_engine, burst("a"))
    record(any_engine, burst("a"))  # same message ids
    with pytest.raises(RuntimeError), session_scope(any_engine) as s:
        record_events(burst("a", "rolled-back-"), db_session=s)
        raise RuntimeError("request failed after recording")
    assert get_refresher(any_engine).flush(timeout=30)
    with session_scope(any_engine) as s:
        usage = s.scalar(select(UsageDaily).where(UsageDaily.account_id == a))
    assert (usage.events, usage.logins, usage.day) == (6, 1, DAY)


def test_a_fall_past_the_threshold_publishes_one_score_drop(live, any_engine):
    c = live.ids["c"]
    for _ in range(4):
        live.ticket("c", DAY, priority="urgent")
    for _ in range(3):
        live.failed_invoice("c", DAY)
    with get_bus().subscribe() as notes:
        record(any_engine, burst("c")[:1])
        assert get_refresher(any_engine).flush(timeout=30)
        record(any_engine, burst("c", "again-")[:1])
        assert get_refresher(any_engine).flush(timeout=30)
        drops = [n for n in notes.drain() if n.kind == "score_drop" and n.account_id == c]
    assert len(drops) == 1  # not again on the second refresh the same day
    assert drops[0].payload["drop"] >= 10


def test_real_time_usage_matches_the_daily_stage_after_sync(live, any_settings, any_engine):
    a = live.ids["a"]
    record(any_engine, burst("a"))
    assert get_refresher(any_engine).flush(timeout=30)
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


def test_an_idle_refresher_stops_and_the_next_commit_starts_another(
    settings, engine, frozen_clock, monkeypatch
):
    monkeypatch.setattr(realtime, "IDLE_SECONDS", 0.05)
    configure_realtime(engine, settings)
    book = Book(settings, engine)
    book.account("a", seats=10)
    record(engine, burst("a")[:1])
    first = get_refresher(engine)
    assert first.flush(timeout=30)
    deadline = time.monotonic() + 10
    while not first.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.closed
    record(engine, burst("a")[1:])
    second = get_refresher(engine)
    assert second is not first and second.flush(timeout=30)
    assert today_row(engine, book.ids["a"]).measures["usage_breadth"]["value"] == 6
