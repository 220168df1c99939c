"""The event bus: committed events and ephemeral frames, fanned out to every instance.

Two backends behind one interface, chosen by URL as encode/broadcaster does: in-process (no
REDIS_URL; one instance, or several apps in one process) and Redis pub/sub with one channel per
room. The bus may lose or reorder a message (Redis pub/sub promises no more); the hub that
consumes it detects gaps in a room's seq and fetches the missing range from Postgres.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["Bus", "MemoryBus", "RedisBus", "open_bus"]

log = logging.getLogger(__name__)

# How long a PUBLISH that reached nobody keeps a topic unlistened (RedisBus.listened).
_RECEIVERS_FRESH = 2.0

# At most this many messages go in one pipelined round trip to Redis.
_PIPELINE_MAX = 512

OnMessage = Callable[[str, bytes], Awaitable[None]]
OnReconnect = Callable[[], Awaitable[None]]


class Bus(Protocol):
    on_message: OnMessage | None
    on_reconnect: OnReconnect | None

    async def __aenter__(self) -> Bus: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def publish(self, topic: str, message: bytes) -> None: ...
    async def subscribe(self, topic: str) -> None: ...
    async def unsubscribe(self, topic: str) -> None: ...
    async def check(self) -> None: ...
    def listened(self, topic: str) -> bool: ...


def open_bus(redis_url: str | None, *, prefix: str = "exquisite") -> Bus:
    return RedisBus(redis_url, prefix=prefix) if redis_url else MemoryBus()


class MemoryBus:
    """Delivers to this process's subscriber directly, in publish order."""

    def __init__(self) -> None:
        self.on_message: OnMessage | None = None
        self.on_reconnect: OnReconnect | None = None
        self._topics: set[str] = set()

    async def __aenter__(self) -> MemoryBus:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._topics.clear()

    async def publish(self, topic: str, message: bytes) -> None:
        if topic in self._topics and self.on_message is not None:
            await self.on_message(topic, message)

    async def subscribe(self, topic: str) -> None:
        self._topics.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)

    async def check(self) -> None:
        return None

    def listened(self, topic: str) -> bool:
        """Whether a subscriber would receive a message on the topic now."""
        return topic in self._topics


class RedisBus:
    """Redis pub/sub. Publishing goes through a bounded queue and its own task, so a slow or
    dead Redis never delays a commit's answer; what the queue drops, the hub's resync finds."""

    def __init__(self, url: str, *, prefix: str, publish_queue: int = 10_000) -> None:
        import redis.asyncio as redis  # optional until REDIS_URL is set

        self._redis_module = redis
        self.url = url
        self.prefix = prefix
        self.on_message: OnMessage | None = None
        self.on_reconnect: OnReconnect | None = None
        self._client = redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(publish_queue)
        self._topics: set[str] = set()
        # Channel -> (subscribers the last PUBLISH reached, when): who listens, learnt for free.
        self._receivers: dict[str, tuple[int, float]] = {}
        self._pubsub: redis.client.PubSub | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()

    def _channel(self, topic: str) -> str:
        return f"{self.prefix}:{topic}"

    async def __aenter__(self) -> RedisBus:
        self._tasks = [
            asyncio.create_task(self._publisher(), name="redis-publisher"),
            asyncio.create_task(self._listener(), name="redis-listener"),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pubsub is not None:
            await self._close_pubsub()
        await self._client.aclose()

    async def publish(self, topic: str, message: bytes) -> None:
        try:
            self._outbox.put_nowait((self._channel(topic), message))
        except asyncio.QueueFull:
            log.warning("bus outbox full: dropped a message for %s (the hub's resync recovers it)", topic)

    async def subscribe(self, topic: str) -> None:
        self._topics.add(topic)
        if self._pubsub is not None and self.connected.is_set():
            try:
                await self._pubsub.subscribe(self._channel(topic))
            except (self._redis_module.RedisError, OSError):
                log.warning("subscribing to %s failed; the listener will resubscribe", topic)

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)
        if self._pubsub is not None and self.connected.is_set():
            with contextlib.suppress(self._redis_module.RedisError, OSError):
                await self._pubsub.unsubscribe(self._channel(topic))

    async def check(self) -> None:
        # After Redis restarts, the pool's connections are dead ones: the ping that finds one so is
        # not an answer about Redis, so the pool is emptied and a ping on a fresh one decides.
        try:
            await self._client.ping()
        except (self._redis_module.ConnectionError, OSError):
            await self._drop_stale_connections()
            await self._client.ping()

    async def _drop_stale_connections(self) -> None:
        with contextlib.suppress(self._redis_module.RedisError, OSError):
            await self._client.connection_pool.disconnect()

    def listened(self, topic: str) -> bool:
        """False only while the last PUBLISH on the topic, under _RECEIVERS_FRESH seconds ago,
        reached no subscriber on any instance; unknown counts as listened."""
        seen = self._receivers.get(self._channel(topic))
        return seen is None or seen[0] > 0 or time.monotonic() - seen[1] > _RECEIVERS_FRESH

    async def _publisher(self) -> None:
        """Sends whatever waits in the outbox in one pipelined round trip per turn, in order."""
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < _PIPELINE_MAX and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            # A batch is retried once, on fresh connections: after Redis restarts, every pooled
            # connection is a dead one. A repeat can only duplicate, which hubs skip.
            for attempt in (1, 2):
                try:
                    reached = await self._send(batch)
                except (self._redis_module.RedisError, OSError) as exc:
                    if attempt == 2:
                        log.warning("publishing %d message(s) failed: %r", len(batch), exc)
                    else:
                        await self._drop_stale_connections()
                    continue
                now = time.monotonic()
                for (channel, _), count in zip(batch, reached, strict=True):
                    self._receivers[channel] = (int(count), now)
                break

    async def _send(self, batch: list[tuple[str, bytes]]) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for channel, message in batch:
            pipe.publish(channel, message)
        return await pipe.execute()

    async def _listener(self) -> None:
        """Reads messages; on a lost connection, reconnects with backoff, resubscribes, and
        tells the hub to resync, since anything published meanwhile was lost."""
        backoff = 0.05
        first = True
        while True:
            try:
                pubsub = self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await pubsub.ping()
                if self._topics:
                    await pubsub.subscribe(*(self._channel(t) for t in self._topics))
                self.connected.set()
                backoff = 0.05
                if not first and self.on_reconnect is not None:
                    try:
                        await self.on_reconnect()
                    except Exception:  # the listener must outlive a resync that failed
                        log.exception("resync after the bus came back failed")
                first = False
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    topic = message["channel"].decode().removeprefix(f"{self.prefix}:")
                    if self.on_message is not None:
                        await self.on_message(topic, message["data"])
            except (self._redis_module.RedisError, OSError) as exc:
                if self.connected.is_set():
                    log.warning("lost the Redis bus: %r", exc)
                self.connected.clear()
                first = False
                await self._close_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(self._redis_module.RedisError, OSError):
                await pubsub.aclose()
