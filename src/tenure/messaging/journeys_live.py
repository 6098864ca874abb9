"""The event-driven side of journeys: arriving events and tier changes ask for a tick soon.

The server adds `JourneyKicker` as a listener on the notification bus; on an
`events_recorded`, `tier_change` or `score_drop` notification it calls `kick` (which enqueues
the worker's `journeys_tick` task), at most once per `min_interval` seconds so a burst of
events makes one tick. The periodic tick catches anything a skipped kick would have found.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tenure.notifications import Notification, get_bus

KINDS = frozenset({"events_recorded", "tier_change", "score_drop"})


class JourneyKicker:
    """Call `kick` for journey-relevant notifications, debounced."""

    def __init__(self, kick: Callable[[], object], min_interval: float = 30.0) -> None:
        """Remember what to call and how often at most; nothing starts yet."""
        self.kick = kick
        self.min_interval = min_interval
        self._last = float("-inf")
        self._lock = threading.Lock()
        self._remove: Callable[[], None] | None = None

    def __call__(self, note: Notification) -> None:
        """Kick a tick if the notification may trigger a journey and none was asked lately."""
        if note.kind not in KINDS:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.min_interval:
                return
            self._last = now
        self.kick()

    def start(self) -> JourneyKicker:
        """Listen on this process's notification bus."""
        self._remove = get_bus().add_listener(self)
        return self

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._remove is not None:
            self._remove()
            self._remove = None
