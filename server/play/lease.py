"""A running step's hold on its room: renewed while it paints, lost when another instance takes over.

The lease row in Postgres, not this module, decides who may commit (its fencing token); this only
keeps our row alive and stops our work the moment it is gone, so that a step never paints on
after its room was handed to someone else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage import Database, steps
from storage.steps import Step

__all__ = ["LeaseLost", "keep_lease"]

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Our fencing token no longer holds the room: another instance has taken over."""


@asynccontextmanager
async def keep_lease(db: Database, step: Step, seconds: float) -> AsyncIterator[None]:
    """Renews the step's lease every third of its length while the body runs. When a renewal
    finds the lease gone, the body is cancelled and LeaseLost raised in its place, as
    asyncio.timeout() raises TimeoutError: nothing the body does after that may count."""
    body = asyncio.current_task()
    if body is None:
        raise RuntimeError("keep_lease needs a task")
    lost = False

    async def renew_until_lost() -> None:
        nonlocal lost
        while True:
            await asyncio.sleep(seconds / 3)
            if not await _renew(db, step, seconds):
                lost = True
                body.cancel()
                return

    renewer = asyncio.create_task(renew_until_lost(), name=f"lease-{step.id}")
    try:
        yield
    except asyncio.CancelledError:
        if not lost:
            raise
    finally:
        renewer.cancel()
        await asyncio.gather(renewer, return_exceptions=True)
    if lost:
        body.uncancel()
        raise LeaseLost()


async def _renew(db: Database, step: Step, seconds: float) -> bool:
    try:
        async with db.acquire() as conn:
            return await steps.renew_lease(conn, step.room_id, step.fencing_token, seconds)
    except Exception:
        log.exception("renewing the lease of step %s failed", step.id)
        return False
