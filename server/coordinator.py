"""Runs each room's step as an asyncio task in this process, renewing its lease meanwhile.

The database, not this object, decides that one step runs per room across all instances; the
coordinator only owns the tasks this instance started, so that shutdown can finish or refund them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable
from uuid import UUID

import numpy as np

from engine import Generator
from server import steps as step_machine
from server.faults import crash_point
from storage import steps
from storage.events import Event
from storage.steps import Step

__all__ = ["Coordinator"]

log = logging.getLogger(__name__)

Publish = Callable[[UUID, list[Event]], Awaitable[None]]
Progress = Callable[[Step, float, np.ndarray | None], Awaitable[None]]


class Coordinator:
    def __init__(
        self, services, generator: Generator, *, publish: Publish, on_progress: Progress, shutdown_grace: float = 10.0
    ) -> None:
        self.services = services
        self.generator = generator
        self.publish = publish
        self.on_progress = on_progress
        self.shutdown_grace = shutdown_grace
        self._tasks: dict[UUID, tuple[UUID, asyncio.Task]] = {}

    async def __aenter__(self) -> "Coordinator":
        return self

    async def __aexit__(self, *exc_info) -> None:
        """Lets running steps finish for a while, then cancels them (which refunds them)."""
        tasks = [task for _, task in self._tasks.values()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    @property
    def running(self) -> dict[UUID, UUID]:
        """Step id -> room id of the steps this instance is painting (a zombie among them, too)."""
        return {step_id: room_id for step_id, (room_id, _) in self._tasks.items()}

    def start(self, step: Step) -> asyncio.Task:
        task = asyncio.create_task(self._run(step), name=f"step-{step.id}")
        self._tasks[step.id] = (step.room_id, task)
        task.add_done_callback(lambda _: self._tasks.pop(step.id, None))
        return task

    async def wait(self, room_id: UUID) -> None:
        """Until this instance's steps in the room (if any) have committed or aborted."""
        tasks = [task for room, task in self._tasks.values() if room == room_id]
        await asyncio.gather(*(asyncio.shield(task) for task in tasks))

    async def wait_step(self, step_id: UUID) -> None:
        if step_id in self._tasks:
            await asyncio.shield(self._tasks[step_id][1])

    async def _run(self, step: Step) -> None:
        events = await step_machine.run(self.services, step, lambda context: self._generate(step, context))
        await self.publish(step.room_id, events)

    async def _generate(self, step: Step, context: np.ndarray) -> np.ndarray:
        """Runs the generator, renewing the lease every third of its length; raises LeaseLost
        (and stops the generator) the moment a renewal finds the lease gone."""
        settings = self.services.settings
        generation = asyncio.create_task(
            self.generator.generate(
                context, step.prompt, seed=step.seed, on_progress=lambda f, p: self._progress(step, f, p)
            )
        )
        try:
            while True:
                done, _ = await asyncio.wait({generation}, timeout=settings.step_lease_seconds / 3)
                if done:
                    return generation.result()
                if not await self._renew(step):
                    raise step_machine.LeaseLost()
        finally:
            if not generation.done():
                generation.cancel()
                await asyncio.gather(generation, return_exceptions=True)

    async def _renew(self, step: Step) -> bool:
        try:
            async with self.services.db.acquire() as conn:
                return await steps.renew_lease(
                    conn, step.room_id, step.fencing_token, self.services.settings.step_lease_seconds
                )
        except Exception:
            log.exception("renewing the lease of step %s failed", step.id)
            return False

    async def _progress(self, step: Step, fraction: float, preview: np.ndarray | None) -> None:
        crash_point(self.services.settings.crash_at, "during_generation")
        await self.on_progress(step, fraction, preview)
