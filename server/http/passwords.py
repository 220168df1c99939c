"""Password hashes: argon2id, with costs from the settings that production may not lower.

The costs are settings so that the test suite can hash cheaply; production refuses anything
weaker than RFC 9106's low-memory profile (server/settings.py), which is also the default.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Passwords"]


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)
        # Verified against when the email is unknown, so that a miss costs as long as a hit.
        self._dummy_hash = self.hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def matches(self, password_hash: str | None, password: str) -> bool:
        """Whether the password fits the hash; with no hash, as slow a False as a real miss."""
        matched = await asyncio.to_thread(self._verify, password_hash or self._dummy_hash, password)
        return matched and password_hash is not None

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
