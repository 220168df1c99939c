"""A pass that runs every so often in a task of its own while a block runs (the reaper, retention)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

__all__ = ["every"]


@asynccontextmanager
async def every(
    seconds: float, do_pass: Callable[[], Awaitable[None]], *, name: str, at_start: bool = False
) -> AsyncIterator[None]:
    """Awaits `do_pass()` every `seconds` (and once on entry when `at_start`) until the block
    ends; then cancels the pass in progress. `do_pass` handles its own failures: one that
    escapes ends the loop, as a bug should."""
    if at_start:
        await do_pass()

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            await do_pass()

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
