"""Recovery with no operator: every instance reaps expired leases and runs the clocks.

Each job locks the room row first and re-checks under the lock, so when several instances reap
at once exactly one of them acts and the others find nothing left to do.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from uuid import UUID

from server.metrics import Metrics
from server.play.clocks import finish_if_idle, give_back_outage, skip_overdue_turn
from server.play.every import every
from server.play.publisher import Publisher
from server.play.step import abort_if_running
from server.settings import Settings
from storage import Database, Unavailable, rooms, steps
from storage.events import Event

__all__ = ["reap_once", "reaper"]

log = logging.getLogger(__name__)


async def reap_once(db: Database, metrics: Metrics, settings: Settings) -> dict[UUID, list[Event]]:
    """One pass: gives turn clocks back an outage, aborts and refunds steps whose lease expired,
    skips overdue turns, finishes idle rooms. Returns the events appended, by room, to publish."""
    async with db.acquire() as conn:
        # First, so that no turn is skipped by a deadline the outage ate.
        appended = await give_back_outage(conn, settings.outage_threshold_seconds)
        for lease in await steps.expired_leases(conn):
            async with conn.transaction():
                room = await rooms.lock_room(conn, lease.room_id)
                if room is None or not await steps.lease_expired(conn, lease.room_id, lease.fencing_token):
                    continue  # renewed or released since we looked
                step = await steps.step_by_id(conn, lease.step_id)
                if step is None:
                    raise RuntimeError(f"lease of room {room.id} names no step")
                events = await abort_if_running(conn, room, step, "lease_expired")
                log.warning("reaped step %s of room %s (lease expired)", step.id, room.id)
            metrics.count_outcome(events)
            appended.setdefault(room.id, []).extend(events)
        for room_id in await rooms.rooms_past_turn_deadline(conn):
            async with conn.transaction():
                events = await skip_overdue_turn(conn, room_id, settings)
            appended.setdefault(room_id, []).extend(events)
        for room_id in await rooms.idle_rooms(conn, settings.room_idle_days):
            async with conn.transaction():
                events = await finish_if_idle(conn, room_id, settings.room_idle_days)
            appended.setdefault(room_id, []).extend(events)
    return {room_id: events for room_id, events in appended.items() if events}


def reaper(
    db: Database, metrics: Metrics, publisher: Publisher, settings: Settings
) -> AbstractAsyncContextManager[None]:
    """Runs reap_once at start-up and then every `settings.reaper_interval_seconds` until closed."""

    async def do_pass() -> None:
        try:
            appended = await reap_once(db, metrics, settings)
        except Unavailable as exc:
            log.warning("reaper pass skipped: %s", exc.message)  # an outage, not a bug: no trace
            return
        except Exception:
            log.exception("reaper pass failed")
            return
        for room_id, events in appended.items():
            await publisher.publish_events(room_id, events)

    return every(settings.reaper_interval_seconds, do_pass, name="reaper", at_start=True)
