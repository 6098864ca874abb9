"""The Redis relay of live notifications between processes (here: two buses in one process)."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from redis.exceptions import RedisError

from tenure.live_relay import RedisRelay, decode, encode
from tenure.notifications import Notification, NotificationBus

REDIS_URL = "redis://127.0.0.1:6379/13"
pytestmark = pytest.mark.redis


@pytest.fixture
def channel() -> str:
    """Return a throwaway channel, skipping when Redis is not reachable."""
    try:
        Redis.from_url(REDIS_URL).ping()
    except RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return f"tenure.live.test.{uuid.uuid4().hex}"


def test_a_notification_round_trips_through_its_message() -> None:
    """Kind, account, payload and time survive encoding."""
    note = Notification("tier_change", 7, {"from": "healthy", "to": "at_risk"})
    origin, back = decode(encode(note, "p1"))
    assert origin == "p1" and back == note


def test_other_processes_subscriptions_get_it_once_and_listeners_do_not(channel: str) -> None:
    """Published on A: B's dashboard queue gets it; A's queue once; B's listeners never."""
    bus_a, bus_b = NotificationBus(), NotificationBus()
    relay_a = RedisRelay(REDIS_URL, channel, bus_a).start()
    relay_b = RedisRelay(REDIS_URL, channel, bus_b).start()
    heard_on_b: list[Notification] = []
    bus_b.add_listener(heard_on_b.append)
    try:
        with bus_a.subscribe() as on_a, bus_b.subscribe() as on_b:
            note = Notification("score_drop", 3, {"score": 41.5})
            bus_a.publish(note)
            assert on_b.get(timeout=5) == note
            assert on_a.get(timeout=0.5) == note and on_a.get(timeout=0.5) is None
            assert on_b.get(timeout=0.5) is None and heard_on_b == []
    finally:
        relay_a.stop()
        relay_b.stop()
