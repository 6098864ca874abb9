"""Segment messages become events with one validation, exactly as EventIn would have made them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tenure import clock
from tenure.api.segment import (
    SegmentMessage,
    checked_event,
    latest_accepted,
    read_messages,
    to_event,
)
from tenure.events.service import event_problems

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))

MESSAGES: list[tuple[str, dict[str, Any]]] = [
    ("track", {"event": "Feature Used", "userId": "u1", "context": {"groupId": "A1"}}),
    ("track", {"event": "Login", "groupId": 42, "properties": {"account_id": " A2 "}}),
    ("track", {"event": "x", "userId": 7, "timestamp": "2026-12-07T13:00:00+02:00"}),
    ("track", {"event": "x", "anonymousId": "a", "originalTimestamp": "2026-01-01T00:00:00"}),
    ("identify", {"userId": "u1", "traits": {"email": " a@b.co ", "plan": "pro"}}),
    ("group", {"userId": "u1", "groupId": "A9", "traits": {"name": "Acme"}}),
    ("alias", {"userId": "u2", "previousId": "anon-1"}),
    ("page", {"userId": "u1", "name": "Pricing", "category": "Docs", "properties": {"p": 1}}),
    ("screen", {"userId": "u1", "name": "Home", "messageId": "m-1"}),
]


def _validated(values: dict[str, Any], call: str) -> Any:
    checked = {"json_bounded": call not in ("page", "screen")}
    event, problems = event_problems(values, checked)
    assert event is not None, problems
    return event


@pytest.mark.parametrize(("call", "raw"), MESSAGES)
def test_built_event_equals_the_validated_one(call: str, raw: dict[str, Any]) -> None:
    """Field values, their types, time zone and the set fields match EventIn's validation."""
    with clock.use_clock(clock.FrozenClock(NOW)):
        values = to_event(SegmentMessage.model_validate({**raw, "type": call}), call, "message 0")
        built = checked_event(dict(values), call, latest_accepted())
        validated = _validated(dict(values), call)
    assert built is not None
    assert built == validated and repr(built) == repr(validated)  # values, types, field order
    assert built.model_dump() == validated.model_dump()
    assert built.timestamp.tzinfo == validated.timestamp.tzinfo == UTC
    assert built.model_fields_set == validated.model_fields_set
    assert built.resolved_message_id() == validated.resolved_message_id()


@pytest.mark.parametrize(
    "change",
    [
        {"messageId": " padded "},
        {"event": " Padded Name "},
        {"timestamp": "1899-12-31T23:00:00Z"},
        {"timestamp": "2027-06-01T00:00:00Z"},
        {"timestamp": datetime(2027, 6, 1, tzinfo=PLUS_TWO).isoformat()},
    ],
)
def test_what_validation_would_change_or_refuse_goes_to_eventin(change: dict[str, Any]) -> None:
    """Padded text and out-of-range times are not built directly (EventIn judges them)."""
    raw = {"type": "track", "event": "x", "userId": "u1", **change}
    with clock.use_clock(clock.FrozenClock(NOW)):
        values = to_event(SegmentMessage.model_validate(raw), "track", "message 0")
        assert checked_event(values, "track", latest_accepted()) is None


def test_reasons_and_stripping_are_unchanged() -> None:
    """A batch still strips padded names and rejects bad times with EventIn's reasons."""
    batch = [
        {"type": "track", "event": " Padded ", "userId": "u1", "messageId": " m1 "},
        {"type": "track", "event": "x", "userId": "u1", "timestamp": "1850-01-01T00:00:00Z"},
        {"type": "page", "userId": "u1", "name": "n" * 100, "properties": {"k": "v" * 32_760}},
    ]
    with clock.use_clock(clock.FrozenClock(NOW)):
        intake = read_messages(batch)
    assert [(e.event, e.message_id) for e in intake.events] == [("Padded", "m1")]
    assert [r.index for r in intake.rejected] == [1, 2]
    assert "field timestamp" in intake.rejected[0].reason
    assert "before 1900-01-01" in intake.rejected[0].reason
    assert intake.rejected[1].reason.startswith("message 2: field properties")
