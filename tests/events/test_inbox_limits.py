"""Tracking timestamps follow the import's rules; inbox events of unknown accounts expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from tenure.accounts.models import Account
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.events.models import InboxEvent
from tenure.events.schemas import EventIn
from tenure.events.service import record_events, sync_inbox
from tenure.stage import StageContext
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.stages.events import warehouse_events

T0 = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    "timestamp, message",
    [
        ("0001-01-01T00:00:00Z", "before 1900-01-01"),
        ("0001-01-01T00:30:00+01:00", "timestamp out of range"),
        ("1899-12-31T23:59:59Z", "before 1900-01-01"),
        ("9999-12-31T00:00:00Z", "timestamp in the future"),
        ("9999-12-31T23:30:00-01:00", "timestamp out of range"),
        ("2025-06-30T12:05:01Z", "timestamp in the future"),  # frozen now + 300 s + 1 s
    ],
)
def test_timestamps_outside_the_import_range_are_refused(timestamp, message):
    """Year 1, 1899 and 9999 (also shifted by an offset) and the far future are refused."""
    with pytest.raises(ValidationError, match=message):
        EventIn.model_validate({"account_id": "a", "event": "login", "timestamp": timestamp})


@pytest.mark.usefixtures("frozen_clock")
def test_timestamps_inside_the_range_pass_and_the_tolerance_comes_from_context():
    """1900-01-01, now + 300 s pass; a context can narrow the tolerance to 0."""
    for ok in ("1900-01-01T00:00:00Z", "2025-06-30T12:05:00Z"):
        EventIn.model_validate({"account_id": "a", "event": "x", "timestamp": ok})
    late = {"account_id": "a", "event": "x", "timestamp": "2025-06-30T12:00:01Z"}
    with pytest.raises(ValidationError, match="in the future"):
        EventIn.model_validate(late, context={"future_tolerance_seconds": 0})


def _record(engine, batch) -> None:
    with session_scope(engine) as session:
        record_events(batch, db_session=session, login_events=["login"])


def test_unknown_account_events_expire_after_the_setting(settings, engine, frozen_clock):
    """31 days on, the ghost account's event is dropped; a newer one and known ones are kept."""
    with session_scope(engine) as session:
        session.add(Account(external_id="a1", name="a1", created_at=T0, attributes={}))
    _record(engine, [{"message_id": "old", "account_id": "ghost", "event": "x", "timestamp": T0}])
    frozen_clock.advance(timedelta(days=20))
    _record(engine, [{"message_id": "new", "account_id": "ghost", "event": "x", "timestamp": T0}])
    _record(engine, [{"message_id": "k", "account_id": "a1", "event": "x", "timestamp": T0}])
    frozen_clock.advance(timedelta(days=11))
    with open_warehouse(settings) as warehouse:
        result = sync_inbox(engine=engine, warehouse=warehouse, unknown_account_days=30)
    assert (result.expired_unknown_account, result.moved, result.waiting_for_account) == (1, 1, 1)
    with session_scope(engine) as session:
        left = session.scalars(sa.select(InboxEvent.message_id).order_by(InboxEvent.id)).all()
    assert left == ["new", "k"]


def test_the_sync_stage_reports_expired_events(settings, engine, frozen_clock):
    """The pipeline's sync stage uses inbox_unknown_account_days and reports the count."""
    _record(engine, [{"message_id": "old", "account_id": "ghost", "event": "x", "timestamp": T0}])
    frozen_clock.advance(timedelta(days=8))
    week = settings.model_copy(update={"inbox_unknown_account_days": 7})
    summary = warehouse_events(StageContext(settings=week, engine=engine, as_of=T0.date()))
    assert (summary["expired_unknown_account"], summary["waiting_for_account"]) == (1, 0)
    again = warehouse_events(StageContext(settings=settings, engine=engine, as_of=T0.date()))
    assert again["expired_unknown_account"] == 0


def test_record_events_names_the_bad_timestamp(engine, frozen_clock):
    """A batch with one year-9999 event is refused as a whole, naming item and field."""
    batch = [
        {"account_id": "a", "event": "x", "timestamp": T0},
        {"account_id": "a", "event": "x", "timestamp": "9999-12-31T00:00:00Z"},
    ]
    with pytest.raises(InputError, match="item 1, field timestamp"):
        _record(engine, batch)
