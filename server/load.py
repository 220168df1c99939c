"""Is this instance saturated? New steps are refused `503 busy` while it is, so that overload
slows the steps offered, never the live feed of the steps already painting.

Three signals, each over a bound from Settings: the event loop's lag (a ticker measures how late
its sleeps wake, smoothed over a few ticks), the wait for a pooled database connection (the pool
reports each acquire), and how long the oldest call has waited for a pixel worker process (the
ticker reads it: pixel work runs outside the loop's process, so its backlog shows in neither of
the others). Any over its bound makes the instance busy for `hold` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from types import TracebackType

from prometheus_client import Histogram

__all__ = ["Load"]


class Load:
    def __init__(
        self,
        *,
        loop_lag_bound: float,
        pool_wait_bound: float,
        pixel_wait_bound: float = 0.0,
        pixel_wait: Callable[[], float] = lambda: 0.0,
        hold: float = 1.0,
        interval: float = 0.05,
        loop_lag_histogram: Histogram | None = None,
    ) -> None:
        self.loop_lag_bound = loop_lag_bound
        self.pool_wait_bound = pool_wait_bound
        self.pixel_wait_bound = pixel_wait_bound
        self._pixel_wait = pixel_wait
        self.hold = hold
        self.interval = interval
        self.lag = 0.0  # smoothed loop lag, seconds
        self._histogram = loop_lag_histogram
        self._busy_until = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Load:
        self._task = asyncio.create_task(self._tick(), name="loop-lag")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def busy(self) -> bool:
        return time.monotonic() < self._busy_until

    def observe_pool_wait(self, seconds: float) -> None:
        if self.pool_wait_bound > 0 and seconds > self.pool_wait_bound:
            self._saturated()

    def observe_pixel_wait(self) -> None:
        """Reads how long pixel work has waited for a worker (each tick)."""
        if self.pixel_wait_bound > 0 and self._pixel_wait() > self.pixel_wait_bound:
            self._saturated()

    def _saturated(self) -> None:
        self._busy_until = max(self._busy_until, time.monotonic() + self.hold)

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            late = max(0.0, time.perf_counter() - started - self.interval)
            if self._histogram is not None:
                self._histogram.observe(late)
            self.lag = 0.7 * self.lag + 0.3 * late
            if self.loop_lag_bound > 0 and self.lag > self.loop_lag_bound:
                self._saturated()
            self.observe_pixel_wait()
