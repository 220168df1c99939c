"""Where quotas count (server/http/ratelimit.py): Redis when REDIS_URL is set, so that every
instance counts against the same numbers, else this process's memory. The counting itself is
the `limits` library's; this module only opens and closes its storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from limits.aio.storage import MemoryStorage, RedisStorage, Storage

__all__ = ["open_counters"]


@asynccontextmanager
async def open_counters(redis_url: str | None, *, prefix: str = "exquisite-quota") -> AsyncIterator[Storage]:
    """The counters' storage, open until the block ends. Storage failures raise
    `limits.errors.StorageError` (wrapped), whichever the backend."""
    if not redis_url:
        yield MemoryStorage(wrap_exceptions=True)
        return
    import redis.asyncio as redis  # optional until REDIS_URL is set

    # Our own pool, so that shutdown closes its connections (limits has no close of its own).
    pool = redis.ConnectionPool.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
            key_prefix=prefix,
        )
    finally:
        await pool.aclose()
