"""Pixel work (contexts, seams, PNG and JPEG encoding, decoding) off the event loop, on a thread
pool of its own with fewer workers than cores.

Measured with bench/pixels.py (T=256, 6 steps at a time, 2 cores): asyncio's default executor
(up to cores + 4 threads) gave 29 steps/s with the loop lagging 41 ms at p99; this pool of
cores - 1 threads 37 steps/s and 9 ms; a process pool of `cores` workers 21 steps/s and 35 ms
(pickling megabytes of neighbours and results across processes, on the loop's side too, costs
more than the GIL it avoids, since numpy, Pillow and zlib release it for their heavy loops). So:
threads, bounded, so that the loop competes for the GIL and the CPUs with few of them.

The generator's image work (the mock's painting; OpenAI's request encoding, answer decoding and
previews) runs here too (server/lifespan.py passes `run` as its offload). On asyncio's default
executor it ran beside this pool, so under load pixel work held both cores and starved the loop:
bench/live.py, T=256, 100 rooms, 1,000 watchers, 60 steps/s offered, in one run: the feed's
commit-to-last p99 143 -> 53 ms and loop lag p99 34 -> 13 ms, at the same 22-23 steps/s achieved.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

__all__ = ["WORKERS", "run", "busy_seconds", "render_slots"]

T = TypeVar("T")

WORKERS = max(1, (os.cpu_count() or 2) - 1)
_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pixels")
_busy = [0.0]  # seconds the pool's workers have spent on jobs, all of them together
_busy_lock = threading.Lock()


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """function(*args, **kwargs) on the pixel pool."""
    return await asyncio.get_running_loop().run_in_executor(_pool, partial(_timed, function, *args, **kwargs))


def _timed(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    started = time.perf_counter()
    try:
        return function(*args, **kwargs)
    finally:
        spent = time.perf_counter() - started
        with _busy_lock:
            _busy[0] += spent


def busy_seconds() -> float:
    """How long the pool's workers have been busy since the process started (wall time in jobs,
    summed over workers): its rate over WORKERS says how near the pool is to its ceiling."""
    return _busy[0]


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def render_slots(renders: int) -> asyncio.Semaphore:
    """The process-wide limit on whole-room renders (canvases, timelapses), which each hold tens
    of MiB for seconds: at most `renders` at once (one semaphore per event loop, and a server
    runs one loop)."""
    return _slots.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(renders))
