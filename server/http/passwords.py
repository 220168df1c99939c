"""Password hashes: argon2id, with costs from the settings that production may not lower.

The costs are settings so that the test suite can hash cheaply; production refuses anything
weaker than RFC 9106's low-memory profile (server/settings.py), which is also the default.

Each hash takes `memory_kib` (64 MiB in production) for its duration, so at most `concurrency`
run at once, in threads off the event loop; `queue` more may wait for a turn, and the rest are
refused `503 busy` at once: a burst of sign-ins costs time, never the process's memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from storage import Unavailable

__all__ = ["Passwords"]

T = TypeVar("T")
BUSY_RETRY_AFTER = 2


class Passwords:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int = 2, queue: int = 32
    ) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)
        # Verified against when the email is unknown, so that a miss costs as long as a hit.
        self._dummy_hash = self.hasher.hash("not-a-real-password")
        self._turns = asyncio.Semaphore(concurrency)
        self._admitted = 0
        self._bound = concurrency + queue
        # The most hashes that ever ran at once (a test's and the burst bench's figure).
        self.running = 0
        self.peak_running = 0

    async def hash(self, password: str) -> str:
        return await self._bounded(self.hasher.hash, password)

    async def matches(self, password_hash: str | None, password: str) -> bool:
        """Whether the password fits the hash; with no hash, as slow a False as a real miss."""
        matched = await self._bounded(self._verify, password_hash or self._dummy_hash, password)
        return matched and password_hash is not None

    async def _bounded(self, work: Callable[..., T], *args: str) -> T:
        if self._admitted >= self._bound:
            raise Unavailable(
                "Too many sign-ins at once; try again shortly.", code="busy", retry_after=BUSY_RETRY_AFTER
            )
        self._admitted += 1
        try:
            async with self._turns:
                self.running += 1
                self.peak_running = max(self.peak_running, self.running)
                thread = asyncio.ensure_future(asyncio.to_thread(work, *args))
                try:
                    return await asyncio.shield(thread)
                finally:
                    # A thread cannot be cancelled: a cancelled request keeps its turn until the
                    # hash it started ends, so that the bound counts every hash in memory.
                    await asyncio.wait([thread])
                    self.running -= 1
        finally:
            self._admitted -= 1

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
