"""Pixel work off the event loop: pure functions (contexts, seams, PNG encoding and decoding, the
generator's image work) in worker processes, and the whole-room renders that fill shared buffers
piece by piece on threads. (A progress preview's small JPEG is encoded on the loop: see
server/play/publisher.py.) Both are sized from the CPU count, one fewer than cores,
so that the loop keeps a core.

Processes, not threads, for the steps' work (server/play/pixel_workers.py says why and how): a
pixel thread shares the GIL with the loop and waits for it at every numpy or Pillow operation.
bench/live.py (T=256, 100 rooms, 1,000 watchers, 2 cores) saturated the one pixel thread at ~30
steps/s; see the worker module for the isolated measurement.

The generator's image work (the mock's painting; OpenAI's request encoding, answer decoding and
previews) runs here too (server/lifespan.py passes `run` as its offload). On asyncio's default
executor it ran beside this pool, so under load pixel work held both cores and starved the loop:
bench/live.py, T=256, 100 rooms, 1,000 watchers, 60 steps/s offered, in one run: the feed's
commit-to-last p99 143 -> 53 ms and loop lag p99 34 -> 13 ms, at the same 22-23 steps/s achieved.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from server.play.pixel_workers import WorkerPool

__all__ = ["WORKERS", "start", "run", "run_in_thread", "busy_seconds", "oldest_wait", "render_slots"]

T = TypeVar("T")

WORKERS = max(1, (os.cpu_count() or 2) - 1)
# Pixel work yields the cores to the event loop (pixel_workers.py says why). bench/live.py (T=256,
# 100 rooms, 1,000 watchers), both in one run, 20 / 30 / 40 / 60 steps/s offered: the feed's p99
# 5.2 / 11.6 / 12.5 / 19.3 ms at the server's priority, 4.4 / 9.9 / 11.6 / 13.0 ms ten steps
# below, at the same 34-35 steps/s at saturation.
_NICENESS = 10
_processes = WorkerPool(WORKERS, niceness=_NICENESS, preload=("engine",))
atexit.register(_processes.close)
_threads = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pixels")


def start() -> None:
    """Starts the worker processes now rather than at the first steps (the server's start)."""
    _processes.start()


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """function(*args, **kwargs) in a pixel worker process: a module-level function of values
    (arrays, bytes, numbers) that returns values, and neither keeps nor changes its arguments."""
    return await _processes.run(function, *args, **kwargs)


async def run_in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """function(*args, **kwargs) on a pixel thread: for work on objects the caller keeps (a
    canvas strip being filled, an encoder being fed), which a process could only change a copy of."""
    return await asyncio.get_running_loop().run_in_executor(_threads, partial(function, *args, **kwargs))


def busy_seconds() -> float:
    """How long the worker processes have been busy since this process started (time in calls,
    summed over workers): its rate over WORKERS says how near the steps' pixel work is to its
    ceiling. The render threads are not counted: renders are rare and bounded on their own."""
    return _processes.busy_seconds


def oldest_wait() -> float:
    """How long the longest-waiting call has waited for a worker process, in seconds: the
    overload guard's third signal, since a backlog of pixel work no longer slows the loop."""
    return _processes.oldest_wait()


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def render_slots(renders: int) -> asyncio.Semaphore:
    """The process-wide limit on whole-room renders (canvases, timelapses), which each hold tens
    of MiB for seconds: at most `renders` at once (one semaphore per event loop, and a server
    runs one loop)."""
    return _slots.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(renders))
