"""Fixed-window attempt counters, in process.

Each instance counts on its own, so N instances allow up to N times the limit; that bounds
password guessing well enough without a shared store on the login path.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from storage import RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(
        self,
        limit: int,
        window_seconds: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self.max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> None:
        """Counts one attempt; raises RateLimited once the window's limit is spent."""
        self.check(key)
        self.record(key)

    def check(self, key: str) -> None:
        """Raises RateLimited if the key has spent this window's limit; counts nothing."""
        now = self.clock()
        started, count = self._current(key, now)
        if count >= self.limit:
            retry_after = max(1, math.ceil(started + self.window - now))
            raise RateLimited("Too many attempts; try again shortly.", retry_after=retry_after)

    def record(self, key: str) -> None:
        now = self.clock()
        started, count = self._current(key, now)
        if key not in self._windows and len(self._windows) >= self.max_keys:
            self._forget_expired(now)
        self._windows[key] = (started, count + 1)

    def _current(self, key: str, now: float) -> tuple[float, int]:
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self.window:
            return now, 0
        return started, count

    def _forget_expired(self, now: float) -> None:
        self._windows = {key: value for key, value in self._windows.items() if now - value[0] < self.window}
