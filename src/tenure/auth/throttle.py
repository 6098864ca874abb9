"""Login throttling: a sliding window of attempts per client address and per username.

In-process: each server process keeps its own windows, so with several workers an address
may try up to `workers` times the limit. The lock-out counted in the app DB still bounds the
guesses against any one account across every process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tenure.config import Settings
from tenure.errors import TenureError

SWEEP_ABOVE = 10_000  # keys kept before expired windows are swept


class TooManyAttempts(TenureError):
    """Too many login attempts from this address or for this username (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SlidingWindow:
    """At most `limit` attempts per key within the last `seconds` (thread-safe)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._attempts: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._attempts.setdefault(key, deque())
        while window and window[0] <= now - self.seconds:
            window.popleft()
        return window

    def wait_for(self, key: str, now: float) -> float:
        """Return how long key must wait for a free place (0 when it has one); caller locks."""
        window = self._window(key, now)
        if len(window) < self.limit:
            return 0.0
        return window[0] + self.seconds - now

    def add(self, key: str, now: float) -> None:
        """Count an attempt of key at now; the caller holds the lock."""
        self._window(key, now).append(now)
        if len(self._attempts) > SWEEP_ABOVE:
            self._sweep(now)

    def forget_one(self, key: str) -> None:
        """Drop the newest attempt of key (it succeeded); the caller holds the lock."""
        window = self._attempts.get(key)
        if window:
            window.pop()

    def _sweep(self, now: float) -> None:
        for key in [k for k, w in self._attempts.items() if not w or w[-1] <= now - self.seconds]:
            del self._attempts[key]


@dataclass
class LoginThrottle:
    """Admit a login attempt only while its address and its username are under their limits."""

    by_address: SlidingWindow
    by_username: SlidingWindow
    now: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        """Return a throttle with the limits of settings."""
        seconds = settings.login_throttle_seconds
        return cls(
            SlidingWindow(settings.login_throttle_per_address, seconds),
            SlidingWindow(settings.login_throttle_per_username, seconds),
        )

    def admit(self, address: str | None, username: str) -> None:
        """Count an attempt; raise TooManyAttempts (with a retry delay) when over a limit."""
        address, username = address or "-", username.strip().lower()
        with self._lock:
            now = self.now()
            wait = max(
                self.by_address.wait_for(address, now), self.by_username.wait_for(username, now)
            )
            if wait > 0:
                raise TooManyAttempts(
                    "too many login attempts: try again later", retry_after=math.ceil(wait)
                )
            self.by_address.add(address, now)
            self.by_username.add(username, now)

    def succeeded(self, address: str | None, username: str) -> None:
        """Stop counting an admitted attempt that logged in."""
        with self._lock:
            self.by_address.forget_one(address or "-")
            self.by_username.forget_one(username.strip().lower())
