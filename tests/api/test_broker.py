"""Tracking through NATS JetStream: publish on the API, `tenure consume` into the inbox.

Every acknowledged event is stored exactly once: across client retries, overlapping batches,
both packings, kill -9 of the consumer and of the API under load; a broker that is down is a
503 with Retry-After, never a silent drop.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.auth import service
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.events.consumer import consume
from tenure.events.models import InboxEvent

from .broker_support import (
    NATS_DOWN,
    NATS_URL,
    Load,
    basic_auth,
    delete_stream,
    free_port,
    kill_9,
    nats_reachable,
    start_consumer,
    start_server,
    stored_ids,
)
from .conftest import add_account, api_settings


@pytest.fixture
def broker_settings(tmp_path: Path) -> Iterator[Settings]:
    """Return API settings on a throwaway stream, subject and consumer; delete them after."""
    if not nats_reachable():
        pytest.skip(NATS_DOWN)
    tag = uuid.uuid4().hex[:10]
    settings = api_settings(
        tmp_path / "data",
        event_broker_url=NATS_URL,
        event_broker_stream=f"TEST_{tag}",
        event_broker_subject=f"tenure.test.{tag}",
        event_broker_consumer=f"consume-{tag}",
        event_broker_ack_wait_seconds=1.0,
        event_broker_timeout_seconds=3.0,
    )
    yield settings
    delete_stream(settings.event_broker_stream)


def _book(settings: Settings) -> tuple[sa.Engine, str]:
    """Migrate the app DB, add accounts A1..A3, return the engine and a write key."""
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        for external_id in ("A1", "A2", "A3"):
            add_account(session, external_id)
        _, key = service.create_write_key(session, "website")
    return engine, key


def _track(message_id: str, **extra: object) -> dict:
    return {"type": "track", "messageId": message_id, "event": "Feature Used", **extra}


def _drain(settings: Settings, engine: sa.Engine):
    return asyncio.run(consume(settings, engine, stop=asyncio.Event(), drain=True))


@pytest.mark.broker
@pytest.mark.parametrize("packing", ["request", "event"])
def test_published_events_are_stored_once_by_the_consumer(broker_settings, packing) -> None:
    settings = broker_settings.model_copy(update={"event_broker_packing": packing})
    engine, key = _book(settings)
    first = [
        _track("m1", userId="u1", context={"groupId": "A1"}),
        _track("m2", userId="u2", context={"groupId": "A2"}),
        _track("m3", userId="u9"),  # held: u9 is linked to A3 by the group call below
        {"type": "group", "messageId": "m4", "userId": "u9", "groupId": "A3"},
    ]
    overlapping = [first[1], _track("m5", userId="u1", context={"groupId": "A1"})]
    with TestClient(create_app(settings, dashboard=False)) as client:
        for body in ({"batch": first}, {"batch": first}, {"batch": overlapping}):
            answer = client.post("/v1/batch", json=body, headers=basic_auth(key))
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == len(body["batch"])
        single = _track("m6", userId="u1", context={"groupId": "A1"})
        assert client.post("/v1/track", json=single, headers=basic_auth(key)).status_code == 200
        assert stored_ids(engine) == []  # the API itself wrote nothing: the consumer does

    stats = _drain(settings, engine)
    assert sorted(stored_ids(engine)) == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert stats.stored == 6
    with session_scope(engine) as session:
        held = session.scalar(sa.select(InboxEvent).where(InboxEvent.message_id == "m3"))
        assert held.account_external_id == "A3"  # released by the group call's link
    assert _drain(settings, engine).messages == 0  # everything was acknowledged


@pytest.mark.broker
@pytest.mark.slow
def test_kill_9_the_consumer_and_the_api_under_load_stores_every_acknowledged_event_once(
    broker_settings, tmp_path: Path
) -> None:
    engine, key = _book(broker_settings)
    port, log = free_port(), tmp_path / "processes.log"
    server = start_server(broker_settings, port, log)
    consumer = start_consumer(broker_settings, log)
    load = Load(port, key)

    def storing() -> None:  # the inbox grows: the consumer is mid-stream
        _until(lambda n=len(stored_ids(engine, "L")): len(stored_ids(engine, "L")) > n, log)

    def acknowledging() -> None:  # more acknowledged: the API is mid-stream
        _until(lambda n=len(load.acknowledged): len(load.acknowledged) > n + 200, log)

    try:
        load.start()
        for _ in range(2):
            storing()
            kill_9(consumer)
            consumer = start_consumer(broker_settings, log)
            acknowledging()
            kill_9(server)
            server = start_server(broker_settings, port, log)
        acknowledging()  # the load goes on against the last server
        load.stop()
        _until(lambda: set(load.acknowledged) <= set(stored_ids(engine, "L")), log)
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=30) == 0, log.read_text()  # graceful stop
    finally:
        load.stop()
        kill_9(server)
        if consumer.poll() is None:
            kill_9(consumer)
    assert load.failed >= 1  # requests were in flight or refused while the API was down
    _assert_exactly_once(engine, load)


def _until(condition: Callable[[], bool], log: Path, seconds: float = 120) -> None:
    """Poll condition until it holds; fail with the processes' log after seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting: {log.read_text()[-3000:]}")


def _assert_exactly_once(engine: sa.Engine, load: Load) -> None:
    stored = Counter(stored_ids(engine, "L"))
    assert load.errors == []
    assert len(load.acknowledged) >= 500, load.__dict__  # the kills happened mid-stream
    assert [m for m, n in stored.items() if n > 1] == []
    assert set(load.acknowledged) <= set(stored)
    assert len(stored) <= load.sent  # only what was sent; unacknowledged ones may land too


def test_broker_down_is_a_503_with_retry_after_and_nothing_stored(tmp_path: Path) -> None:
    settings = api_settings(
        tmp_path / "data",
        event_broker_url=f"nats://127.0.0.1:{free_port()}",  # nothing listens there
        event_broker_timeout_seconds=1.0,
        event_broker_retry_after_seconds=7,
    )
    engine, key = _book(settings)
    with TestClient(create_app(settings, dashboard=False)) as client:
        batch = {"batch": [_track("d1", userId="u1", context={"groupId": "A1"})]}
        for path, body in (("/v1/batch", batch), ("/v1/track", batch["batch"][0])):
            answer = client.post(path, json=body, headers=basic_auth(key))
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "7"
            assert answer.headers["content-type"] == "application/problem+json"
            assert "nothing was acknowledged" in answer.json()["detail"]
        bad_key = client.post("/v1/batch", json=batch, headers=basic_auth("nope"))
        assert bad_key.status_code == 401  # the key is checked before the broker
    assert stored_ids(engine) == []
