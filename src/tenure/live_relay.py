"""Relay account notifications between processes through Redis pub/sub (many API workers).

Each process that publishes (API workers, the scheduler's pipeline, the consumer) forwards its
notifications to one Redis channel; each API worker listens on it and offers what other
processes published to its own dashboard connections. Without Redis nothing is relayed and
live updates stay in-process, as before.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from tenure.config import Settings
from tenure.logging import get_logger
from tenure.notifications import Notification, NotificationBus, get_bus

log = get_logger(__name__)


def encode(note: Notification, origin: str) -> str:
    """Return the JSON message of a notification published by origin."""
    return json.dumps({"origin": origin, **note.to_dict()}, default=str)


def decode(message: str | bytes) -> tuple[str, Notification]:
    """Return the origin and notification of a relayed message."""
    data: dict[str, Any] = json.loads(message)
    note = Notification(
        data["kind"], data["account_id"], data["payload"], at=datetime.fromisoformat(data["at"])
    )
    return data["origin"], note


class RedisRelay:
    """Forward this process's notifications to Redis and deliver other processes' ones here."""

    def __init__(self, url: str, channel: str, bus: NotificationBus | None = None) -> None:
        self.channel = channel
        self.bus = bus or get_bus()
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._redis = Redis.from_url(url, socket_timeout=5)
        self._stop = threading.Event()
        self._remove: Any = None
        self._thread: threading.Thread | None = None
        self._subscribed = threading.Event()

    def forward(self, note: Notification) -> None:
        """Publish a local notification on the channel (a Redis outage only loses live toasts)."""
        try:
            self._redis.publish(self.channel, encode(note, self.origin))
        except RedisError as exc:
            log.warning("could not relay a live update", error=str(exc))

    def start(self, *, listen: bool = True) -> RedisRelay:
        """Forward local notifications; with listen, also deliver the others' (a daemon thread)."""
        self._remove = self.bus.add_listener(self.forward)
        if listen:
            self._thread = threading.Thread(target=self._listen, name="live-relay", daemon=True)
            self._thread.start()
            self._subscribed.wait(timeout=5)
        return self

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self._pump()
            except RedisError as exc:
                log.warning("live relay lost Redis; retrying", error=str(exc))
                self._stop.wait(1.0)

    def _pump(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            self._subscribed.set()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message and message["type"] == "message":
                    self._deliver(message["data"])
        finally:
            pubsub.close()

    def _deliver(self, data: bytes) -> None:
        try:
            origin, note = decode(data)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed live update", error=str(exc))
            return
        if origin != self.origin:
            self.bus.deliver(note)

    def stop(self) -> None:
        """Stop forwarding and listening."""
        if self._remove is not None:
            self._remove()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._redis.close()


def start_relay(settings: Settings, *, listen: bool = True) -> RedisRelay | None:
    """Start the Redis relay when settings.redis_url is set; None (in-process only) otherwise."""
    if not settings.redis_url:
        return None
    return RedisRelay(settings.redis_url, settings.live_channel).start(listen=listen)
