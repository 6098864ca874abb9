"""The injectable clock: frozen in tests, real otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenure import clock
from tenure.clock import FrozenClock, use_clock


def test_frozen_clock_is_in_force_only_inside_the_block():
    frozen = FrozenClock(datetime(2025, 1, 1))
    with use_clock(frozen):
        assert clock.now() == datetime(2025, 1, 1, tzinfo=UTC)
        frozen.advance(timedelta(days=2))
        assert clock.now() == datetime(2025, 1, 3, tzinfo=UTC)
    assert clock.now() > datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
