"""In-process publish/subscribe of account notifications (tier changes, score drops, alerts).

The health and alert services publish; the dashboard's server-sent events and the alert
evaluator subscribe. Subscribers get what is published after they subscribe; a slow subscriber
whose queue is full loses its oldest notifications, never blocks the publisher.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from tenure import clock


@dataclass(frozen=True)
class Notification:
    """Something about an account worth showing or acting on now."""

    kind: str  # e.g. "tier_change", "score_drop", "alert_opened", "alert_changed"
    account_id: int | None
    payload: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=clock.now)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "kind": self.kind,
            "account_id": self.account_id,
            "payload": self.payload,
            "at": self.at.isoformat(),
        }


class Subscription:
    """One subscriber's bounded queue; use as a context manager so it is removed when done."""

    def __init__(self, bus: NotificationBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: queue.Queue[Notification] = queue.Queue(maxsize=maxsize)

    def offer(self, note: Notification) -> None:
        """Queue a notification, dropping the oldest one when the queue is full."""
        while True:
            try:
                self._queue.put_nowait(note)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue

    def get(self, timeout: float | None = None) -> Notification | None:
        """Return the next notification, or None if none came within timeout seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[Notification]:
        """Return every queued notification without waiting."""
        notes = []
        while (note := self.get(timeout=0)) is not None:
            notes.append(note)
        return notes

    def close(self) -> None:
        """Stop receiving notifications."""
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class NotificationBus:
    """Thread-safe fan-out of notifications to queues and callbacks in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._listeners: list[Callable[[Notification], None]] = []

    def publish(self, note: Notification) -> int:
        """Deliver a notification to every subscriber and listener; return how many got it."""
        with self._lock:
            subscriptions, listeners = list(self._subscriptions), list(self._listeners)
        for subscription in subscriptions:
            subscription.offer(note)
        for listener in listeners:
            listener(note)
        return len(subscriptions) + len(listeners)

    def deliver(self, note: Notification) -> int:
        """Offer a notification published elsewhere (another worker) to this process's queues.

        Listeners are not called: they act on notifications (alert evaluation, relays), which
        the publishing process has already done.
        """
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(note)
        return len(subscriptions)

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        """Return a new subscription (a queue) that receives later notifications."""
        subscription = Subscription(self, maxsize)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a subscription (idempotent)."""
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def add_listener(self, listener: Callable[[Notification], None]) -> Callable[[], None]:
        """Call listener synchronously for each notification; return a function removing it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def listening(self) -> Iterator[Subscription]:
        """Yield a subscription that is closed when the generator is closed."""
        with self.subscribe() as subscription:
            yield subscription


@lru_cache(maxsize=1)
def get_bus() -> NotificationBus:
    """Return this process's notification bus (created on first use)."""
    return NotificationBus()
