"""Runs each step this instance started as an asyncio task, and knows which are still running.

The database, not this object, decides that one step runs per room across all instances; the
runner only owns the tasks this instance started, so that shutdown can finish or refund them.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from uuid import UUID

from server.play import step as step_machine
from server.play.begin import Begun
from server.play.publisher import Publisher
from server.play.step import Studio
from storage.steps import Step

__all__ = ["StepRunner"]

log = logging.getLogger(__name__)


class StepRunner:
    def __init__(self, studio: Studio, publisher: Publisher, *, shutdown_grace: float) -> None:
        self.studio = studio
        self.publisher = publisher
        self.shutdown_grace = shutdown_grace
        self._tasks: dict[UUID, tuple[UUID, asyncio.Task[None]]] = {}

    async def __aenter__(self) -> StepRunner:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
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

    def start(self, step: Step, begun: Begun) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(step, begun), name=f"step-{step.id}")
        self._tasks[step.id] = (step.room_id, task)
        task.add_done_callback(lambda done: self._ended(step, done))
        return task

    def _ended(self, step: Step, task: asyncio.Task[None]) -> None:
        self._tasks.pop(step.id, None)
        # Retrieved here, or asyncio logs "Task exception was never retrieved" with a trace.
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            # Neither committed nor refunded (the database went away mid-step): its lease
            # expires and a reaper refunds it, as after a crash.
            log.warning("step %s ended without an outcome: %r", step.id, exc)

    async def wait(self, room_id: UUID) -> None:
        """Until this instance's steps in the room (if any) have committed or aborted."""
        tasks = [task for room, task in self._tasks.values() if room == room_id]
        await asyncio.gather(*(asyncio.shield(task) for task in tasks))

    async def wait_step(self, step_id: UUID) -> None:
        if step_id in self._tasks:
            await asyncio.shield(self._tasks[step_id][1])

    async def _run(self, step: Step, begun: Begun) -> None:
        try:
            events = await step_machine.paint(self.studio, step, begun, self.publisher.publish_progress)
        finally:
            # The last progress frame goes out before the step's outcome, never after it.
            await self.publisher.settle(step.id)
        await self.publisher.publish_events(step.room_id, events)
