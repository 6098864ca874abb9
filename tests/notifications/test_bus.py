"""The in-process notification bus: fan-out, bounded queues, unsubscribe."""

from __future__ import annotations

import threading

from tenure.notifications import Notification, NotificationBus


def test_every_subscriber_gets_later_notifications_only():
    """A subscriber sees what is published after it subscribed, in order."""
    bus = NotificationBus()
    bus.publish(Notification("tier_change", 1))
    with bus.subscribe() as first, bus.subscribe() as second:
        assert bus.publish(Notification("tier_change", 2)) == 2
        bus.publish(Notification("score_drop", 3))
        assert [n.account_id for n in first.drain()] == [2, 3]
        assert [n.kind for n in second.drain()] == ["tier_change", "score_drop"]
    assert bus.publish(Notification("tier_change", 4)) == 0


def test_full_queue_drops_oldest_and_never_blocks():
    """A slow subscriber loses its oldest notifications, not the newest."""
    bus = NotificationBus()
    with bus.subscribe(maxsize=3) as slow:
        for account_id in range(10):
            bus.publish(Notification("score_drop", account_id))
        assert [n.account_id for n in slow.drain()] == [7, 8, 9]


def test_listener_is_called_and_removed():
    """Callbacks run for each notification until removed."""
    bus = NotificationBus()
    seen: list[int | None] = []
    remove = bus.add_listener(lambda note: seen.append(note.account_id))
    bus.publish(Notification("alert_opened", 5))
    remove()
    bus.publish(Notification("alert_opened", 6))
    assert seen == [5]


def test_get_waits_for_a_publisher_in_another_thread():
    """get(timeout) returns a notification published concurrently, None after a quiet timeout."""
    bus = NotificationBus()
    with bus.subscribe() as subscription:
        threading.Timer(0.05, bus.publish, args=(Notification("tier_change", 9),)).start()
        note = subscription.get(timeout=5)
        assert note is not None and note.account_id == 9
        assert subscription.get(timeout=0.01) is None
        assert note.to_dict()["kind"] == "tier_change"
