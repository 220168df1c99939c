"""PeakRss: the peak resident memory of a process while a block runs (for the benches)."""

from __future__ import annotations

import asyncio

import psutil


class PeakRss:
    """The peak RSS of a process while the block runs, sampled every 5 ms; `before` at entry."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)

    async def __aenter__(self) -> PeakRss:
        self.before = self.peak = self.process.memory_info().rss
        self._task = asyncio.create_task(self._sample())
        return self

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await asyncio.sleep(0.005)

    async def __aexit__(self, *exc_info) -> None:
        self._task.cancel()
        self.peak = max(self.peak, self.process.memory_info().rss)
