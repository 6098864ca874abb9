"""The only place Tenure reads the wall clock; tests inject a frozen clock."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """Read the real time."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved, for time-travel tests."""

    def __init__(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=UTC)

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by delta."""
        self._at += delta

    def set(self, at: datetime) -> None:
        """Jump to an absolute time."""
        self._at = at if at.tzinfo else at.replace(tzinfo=UTC)


_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("tenure_clock")
_system = SystemClock()


def get_clock() -> Clock:
    """Return the clock in force for this context."""
    return _current.get(_system)


def now() -> datetime:
    """Return the current UTC time from the clock in force."""
    return get_clock().now()


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Make clock the one in force inside the with block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)
