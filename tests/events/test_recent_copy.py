"""The pipeline's serving copy of recent events: what it keeps, and what the 360 shows from it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from tests.factories import add_account, add_inbox_event, add_warehouse_events

from tenure.accounts import service as accounts
from tenure.accounts.schemas import Reader
from tenure.db.session import session_scope
from tenure.events.models import EventDailyCounts, RecentEvent
from tenure.events.recent import recent_events_copy
from tenure.stage import StageContext

AS_OF = date(2025, 6, 30)
NAMES = ("login", "report_run", "export")


def _history(prefix: str, days: int, per_day: int) -> list[tuple[str, str, datetime, str | None]]:
    """Return events on each of `days` days up to 5 days after AS_OF, several names a day."""
    start = datetime(2025, 7, 5, 12, tzinfo=UTC)
    return [
        (f"{prefix}-{d}-{k}", NAMES[(d + k) % 3], start - timedelta(days=d, minutes=k), "u1")
        for d in range(days)
        for k in range(per_day)
    ]


def _book(settings, engine):
    """Two accounts in the app DB with warehouse events, and one warehouse-only account id."""
    with session_scope(engine) as session:
        busy, quiet = add_account(session), add_account(session)
        ids = (busy.id, busy.external_id, quiet.id, quiet.external_id)
    busy_rows, quiet_rows = _history("b", 120, 3), _history("q", 9, 1)
    add_warehouse_events(settings, ids[0], ids[1], busy_rows)
    add_warehouse_events(settings, ids[2], ids[3], quiet_rows)
    add_warehouse_events(settings, 424242, "gone", _history("g", 3, 1))
    return ids, busy_rows, quiet_rows


def _run(settings, engine):
    return recent_events_copy(StageContext(settings=settings, engine=engine, as_of=AS_OF))


def _in_window(rows, days=90):
    end = datetime(2025, 7, 1, tzinfo=UTC)
    return [r for r in rows if end - timedelta(days=days) <= r[2] < end]


def test_copy_keeps_the_newest_events_up_to_the_day_and_exact_daily_counts(
    any_settings, any_engine
):
    """Newest 50 per account inside 90 days up to as-of; counts equal a brute-force count."""
    (busy, _, quiet, _), busy_rows, quiet_rows = _book(any_settings, any_engine)
    summary = _run(any_settings, any_engine)
    with session_scope(any_engine) as session:
        copied = session.execute(
            sa.select(RecentEvent.account_id, RecentEvent.message_id).order_by(
                RecentEvent.ts.desc()
            )
        ).all()
        counts = {(c.account_id, c.name): c for c in session.scalars(sa.select(EventDailyCounts))}
    expected_busy = sorted(_in_window(busy_rows), key=lambda r: r[2], reverse=True)[:50]
    assert [m for a, m in copied if a == busy] == [r[0] for r in expected_busy]
    assert sorted(m for a, m in copied if a == quiet) == sorted(
        r[0] for r in _in_window(quiet_rows)
    )
    assert {a for a, _ in copied} == {busy, quiet}  # the warehouse-only account is left out
    brute = Counter((r[1], r[2].date().isoformat()) for r in _in_window(busy_rows))
    for name in NAMES:
        daily = {day: n for (event, day), n in brute.items() if event == name}
        assert counts[(busy, name)].counts == daily
        assert counts[(busy, name)].total == sum(daily.values())
    assert summary == {"events": len(copied), "daily_counts": len(counts)}


def test_rerun_replaces_the_copy(settings, engine):
    """A second run on the same day leaves the same rows, not twice as many."""
    _book(settings, engine)
    first, second = _run(settings, engine), _run(settings, engine)
    with session_scope(engine) as session:
        stored = session.scalar(sa.select(sa.func.count()).select_from(RecentEvent))
    assert first == second and stored == first["events"]


def test_360_merges_inbox_and_copy_once_each_and_hides_them_from_viewers(settings, engine):
    """An inbox event newer than the copy comes first; an event in both appears once."""
    (busy, _, _, _), busy_rows, _ = _book(settings, engine)
    _run(settings, engine)
    newest_copied = sorted(_in_window(busy_rows), key=lambda r: r[2])[-1]
    with session_scope(engine) as session:
        account = session.get(accounts.Account, busy)
        add_inbox_event(
            session, account, message_id="fresh", ts=datetime(2025, 7, 1, 8, tzinfo=UTC)
        )
        add_inbox_event(session, account, message_id=newest_copied[0], ts=newest_copied[2])
    with session_scope(engine) as session:
        admin = Reader(role="admin", email="a@example.com")
        events = accounts.recent_events(db_session=session, account_id=busy, reader=admin, limit=5)
        viewer = Reader(role="viewer", email="v@example.com")
        hidden = accounts.recent_events(db_session=session, account_id=busy, reader=viewer)
        counts = accounts.event_counts(db_session=session, account_id=busy, reader=viewer)
    ids = [e.message_id for e in events]
    assert ids[0] == "fresh" and ids.count(newest_copied[0]) == 1 and len(ids) == 5
    assert hidden is None and counts is None
