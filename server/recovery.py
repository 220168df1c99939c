"""Recovery with no operator: every instance reaps expired leases and overdue turns.

Both jobs lock the room row first and re-check under the lock, so when several instances reap
at once exactly one of them acts and the others find nothing left to do.
"""

from __future__ import annotations

import asyncio
import logging

from server import steps as step_machine
from server.services import Services
from server.turns import advance_turn
from storage import rooms, steps
from storage.events import Event, EventKind
from storage.rooms import RoomStatus

__all__ = ["reap_once", "Reaper"]

log = logging.getLogger(__name__)


async def reap_once(services: Services) -> dict:
    """One pass: aborts and refunds steps whose lease expired, skips overdue turns.

    Returns the events appended, by room, for the caller to publish.
    """
    appended: dict = {}
    async with services.db.acquire() as conn:
        for lease in await steps.expired_leases(conn):
            async with conn.transaction():
                room = await rooms.lock_room(conn, lease.room_id)
                if not await steps.lease_expired(conn, lease.room_id, lease.fencing_token):
                    continue  # renewed or released since we looked
                step = await steps.step_by_id(conn, lease.step_id)
                events = await step_machine.abort_if_running(conn, room, step, "lease_expired")
                log.warning("reaped step %s of room %s (lease expired)", step.id, room.id)
            step_machine.record_outcome(services, events)
            appended.setdefault(room.id, []).extend(events)
        for room_id in await rooms.rooms_past_turn_deadline(conn):
            async with conn.transaction():
                events = await _skip_overdue_turn(conn, room_id)
            appended.setdefault(room_id, []).extend(events)
    return {room_id: events for room_id, events in appended.items() if events}


async def _skip_overdue_turn(conn, room_id) -> list[Event]:
    room = await rooms.lock_room(conn, room_id)
    now = await conn.fetchval("SELECT now()")
    overdue = room.status is RoomStatus.PLAYING and room.turn.deadline is not None and room.turn.deadline < now
    if not overdue or await steps.running_step(conn, room.id) is not None:
        return []
    event = await advance_turn(
        conn, room, EventKind.TURN_SKIPPED, skipped_player_id=room.turn.player_id
    )
    return [event]


class Reaper:
    """Runs reap_once at start-up and then every `interval` seconds until closed."""

    def __init__(self, services: Services, publish, interval: float) -> None:
        self.services = services
        self.publish = publish
        self.interval = interval
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "Reaper":
        await self._pass()
        self._task = asyncio.create_task(self._loop(), name="reaper")
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._pass()

    async def _pass(self) -> None:
        try:
            appended = await reap_once(self.services)
        except Exception:
            log.exception("reaper pass failed")
            return
        for room_id, events in appended.items():
            await self.publish(room_id, events)
