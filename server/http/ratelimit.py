"""Quotas, counted by the `limits` library: attempts per window (`RateLimit`) and things open
now (`LiveCount`, sockets). The counters live in Redis when REDIS_URL is set (storage/counters.py),
so N instances allow the limit once, not N times; else in this process.

A counter store that fails (Redis down) lets the request through and says so in the log: a
quota is a brake, not a door, and sign-ins still pay argon2's price under a bounded semaphore.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from storage import RateLimited

__all__ = ["RateLimit", "LiveCount", "QuotaExceeded", "take_places", "give_back"]

log = logging.getLogger(__name__)

# A live count is not a window: what frees a place is a socket closing, whenever that is.
LIVE_RETRY_AFTER = 5
# A live count expires this long after it last rose from zero: the bound on what a crashed
# instance leaves counted in Redis (and, for a socket open longer, a count that forgets it).
LIVE_EXPIRY_SECONDS = 3600


class QuotaExceeded(RateLimited):
    """A 429 with its own code (`too_many_rooms`, `too_many_connections`)."""

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.code = code


class RateLimit:
    """At most `amount` hits per key in each window of `seconds`, on every instance together."""

    def __init__(
        self,
        storage: Storage,
        name: str,
        amount: int,
        seconds: int = 60,
        *,
        code: str = "rate_limited",
        message: str = "Too many attempts; try again shortly.",
    ) -> None:
        self.limiter = FixedWindowRateLimiter(storage)
        self.item = RateLimitItemPerSecond(amount, seconds)
        self.name = name
        self.code = code
        self.message = message

    async def hit(self, key: str) -> None:
        """Counts one attempt; raises QuotaExceeded once the window's limit is spent."""
        try:
            allowed = await self.limiter.hit(self.item, self.name, key)
        except StorageError as exc:
            log.warning("quota %s not counted: %r", self.name, exc)
            return
        if not allowed:
            await self._refuse(key)

    async def refund(self, key: str) -> None:
        """Gives back one attempt a `hit` counted: one that turned out not to be what the limit
        bounds (a sign-in that succeeded)."""
        counter = self.item.key_for(self.name, key)
        try:
            if await self.limiter.storage.incr(counter, self.item.get_expiry(), -1) < 0:
                await self.limiter.storage.clear(counter)  # its window had ended meanwhile
        except StorageError as exc:
            log.warning("quota %s not refunded: %r", self.name, exc)

    async def _refuse(self, key: str) -> None:
        try:
            reset = (await self.limiter.get_window_stats(self.item, self.name, key)).reset_time
        except StorageError:
            reset = time.time() + self.item.get_expiry()
        retry_after = max(1, math.ceil(reset - time.time()))
        raise QuotaExceeded(self.message, code=self.code, retry_after=retry_after)


class LiveCount:
    """At most `limit` things open at once per key (sockets), on every instance together."""

    def __init__(self, storage: Storage, name: str, limit: int, *, code: str, message: str) -> None:
        self.storage = storage
        self.name = name
        self.limit = limit
        self.code = code
        self.message = message

    def _key(self, key: str) -> str:
        return f"live/{self.name}/{key}"

    async def acquire(self, key: str) -> None:
        """Takes a place, or raises QuotaExceeded (taking nothing) when all are taken."""
        try:
            count = await self.storage.incr(self._key(key), LIVE_EXPIRY_SECONDS, 1)
        except StorageError as exc:
            log.warning("live count %s not counted: %r", self.name, exc)
            return
        if count > self.limit:
            await self.release(key)
            raise QuotaExceeded(self.message, code=self.code, retry_after=LIVE_RETRY_AFTER)

    async def release(self, key: str) -> None:
        try:
            count = await self.storage.incr(self._key(key), LIVE_EXPIRY_SECONDS, -1)
            if count < 0:  # the count expired while this was open: start again from nothing
                await self.storage.clear(self._key(key))
        except StorageError as exc:
            log.warning("live count %s not released: %r", self.name, exc)


async def take_places(places: Sequence[tuple[LiveCount, str]]) -> list[tuple[LiveCount, str]]:
    """A place in each count (all or none: raises QuotaExceeded with none held); hand the list
    to give_back() when done. A list, not a context manager: a socket holds it for hours, and a
    suspended generator and exit stack per socket cost more than the two places."""
    taken: list[tuple[LiveCount, str]] = []
    try:
        for count, key in places:
            await count.acquire(key)
            taken.append((count, key))
    except BaseException:
        await give_back(taken)
        raise
    return taken


async def give_back(taken: list[tuple[LiveCount, str]]) -> None:
    """Releases the places take_places() took, newest first."""
    for count, key in reversed(taken):
        await count.release(key)
    taken.clear()
