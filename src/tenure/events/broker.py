"""The event broker adapter: NATS JetStream, kept to connect, publish-and-confirm, and pull.

The API publishes accepted events (`EventPublisher.publish` returns once JetStream stored them,
with `Nats-Msg-Id` for its de-duplication window) and `tenure consume` pulls them through a
durable consumer (`pull_subscription`). Another broker (Kafka) fits the same three calls.
Nothing connects at import or construction time: the first call does, on the caller's loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tenure.config import Settings
from tenure.errors import TenureError
from tenure.events import envelope
from tenure.events.identity import Link
from tenure.events.schemas import EventIn
from tenure.logging import get_logger

DUPLICATE_WINDOW_SECONDS = 120.0  # JetStream's de-dup window on Nats-Msg-Id
log = get_logger(__name__)


class BrokerUnavailable(TenureError):
    """The event broker is down or did not confirm in time; nothing was acknowledged."""

    exit_code = 69  # EX_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EventBroker:
    """A connection to NATS JetStream with Tenure's events stream (created when missing)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.event_broker_url:
            raise BrokerUnavailable("no event broker is configured", retry_after=60)
        self.settings = settings
        self.timeout = settings.event_broker_timeout_seconds
        self._nc: Any = None
        self._js: Any = None
        self._lock: asyncio.Lock | None = None

    def unavailable(self, why: str) -> BrokerUnavailable:
        """Return the error for a broker that cannot take events now."""
        where = self.settings.event_broker_url
        return BrokerUnavailable(
            f"the event broker at {where} {why}; nothing was acknowledged, retry later",
            retry_after=self.settings.event_broker_retry_after_seconds,
        )

    async def jetstream(self) -> Any:
        """Return the JetStream context, connecting (and creating the stream) when needed."""
        if self._js is not None and self._nc.is_connected:
            return self._js
        if self._nc is not None and self._nc.is_reconnecting:
            raise self.unavailable("is unreachable (reconnecting)")
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._js is None or self._nc.is_closed:
                await self._connect()
        return self._js

    async def _connect(self) -> None:
        import nats  # imported here: only the broker mode pays for it

        async def quiet(exc: Exception) -> None:
            log.warning("event broker connection error", error=str(exc))

        try:
            self._nc = await asyncio.wait_for(
                nats.connect(
                    self.settings.event_broker_url,
                    connect_timeout=self.timeout,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    error_cb=quiet,
                ),
                timeout=self.timeout + 1,
            )
            self._js = self._nc.jetstream(timeout=self.timeout)
            await self._ensure_stream()
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            self._js = None
            raise self.unavailable(f"is unreachable ({type(exc).__name__}: {exc})") from None

    async def _ensure_stream(self) -> None:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        name = self.settings.event_broker_stream
        try:
            await self._js.stream_info(name)
        except NotFoundError:
            config = StreamConfig(
                name=name,
                subjects=[self.settings.event_broker_subject],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )
            await self._js.add_stream(config)

    async def close(self) -> None:
        """Flush and close the connection, if one was opened."""
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
        self._nc = self._js = None


class EventPublisher(EventBroker):
    """The API's side: pack validated events and publish them, confirmed, or raise."""

    def messages(
        self, events: list[EventIn], event_links: list[list[Link]]
    ) -> list[tuple[str, bytes]]:
        """Return the broker messages (de-dup id, payload) carrying a request's events."""
        per_event = self.settings.event_broker_packing == "event"
        limit = self._nc.max_payload if self._nc is not None else 1024 * 1024
        return envelope.pack(events, event_links, per_event=per_event, max_bytes=limit * 9 // 10)

    async def publish(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish messages and wait until JetStream confirmed every one; else raise."""
        import nats

        js = await self.jetstream()
        subject, stream = self.settings.event_broker_subject, self.settings.event_broker_stream
        futures: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(self.timeout):
                for message_id, payload in messages:
                    headers = {"Nats-Msg-Id": message_id}
                    futures.append(
                        await js.publish_async(subject, payload, headers=headers, stream=stream)
                    )
                await asyncio.gather(*futures)
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            for future in futures:
                future.cancel()
            raise self.unavailable(f"did not confirm ({type(exc).__name__}: {exc})") from None


class EventSource(EventBroker):
    """The consumer's side: a durable pull subscription on the events stream."""

    async def pull_subscription(self) -> Any:
        """Return the durable pull subscription (explicit acks, redelivery after ack wait)."""
        from nats.js.api import AckPolicy, ConsumerConfig

        js = await self.jetstream()
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.settings.event_broker_ack_wait_seconds,
            max_ack_pending=-1,
        )
        return await js.pull_subscribe(
            self.settings.event_broker_subject,
            durable=self.settings.event_broker_consumer,
            stream=self.settings.event_broker_stream,
            config=config,
        )
