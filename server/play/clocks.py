"""Turn clocks and idle rooms: what the reaper does besides recovering steps (play/recovery.py).

- A turn past its deadline, with no step running, passes on (`turn.skipped`, `deadline`); when a
  whole round of turns has passed so with no member's socket open in the room, the room finishes
  (`abandoned`).
- Clocks do not run while nothing serves: when the service's heartbeat shows a gap (every instance
  was down), each running deadline is moved later by the gap, and never to less than a whole turn
  from now, since the player's page must reconnect first (`turn.extended`).
- A room with no step for `ROOM_IDLE_DAYS` finishes (`idle`).

Each locks the room and decides again under the lock, so racing instances act once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

from server.play.turns import finish_room, skip_turn, turn_data
from server.settings import Settings
from storage import Connection, database, members, rooms, service, steps
from storage import events as event_log
from storage.events import Event, EventKind
from storage.rooms import Room, RoomStatus, Turn

__all__ = ["skip_overdue_turn", "give_back_outage", "finish_if_idle"]

log = logging.getLogger(__name__)


async def skip_overdue_turn(conn: Connection, room_id: UUID, settings: Settings) -> list[Event]:
    room = await rooms.lock_room(conn, room_id)
    if room is None or room.status is not RoomStatus.PLAYING:
        return []
    deadline = room.turn.deadline
    if deadline is None or deadline >= await database.now(conn):
        return []
    if await steps.running_step(conn, room.id) is not None:
        return []
    unattended = await rooms.count_unattended_turn(conn, room.id, attended=_attended(room))
    if unattended >= len(await members.room_members(conn, room.id)):
        log.info("room %s: a whole round passed with nobody there; it is abandoned", room.id)
        return [await finish_room(conn, room, "abandoned")]
    return await skip_turn(conn, room, settings, "deadline")


def _attended(room: Room) -> bool:
    """Whether a member's socket was open in the room at some time during the live turn."""
    seen, began = room.member_seen_at, room.turn_started_at
    return seen is not None and (began is None or seen >= began)


async def give_back_outage(conn: Connection, outage_threshold: float) -> dict[UUID, list[Event]]:
    """Beats the service's heartbeat; after a full outage, extends every running deadline.
    One transaction, so a gap is given back once, or not at all if this instance dies here."""
    appended: dict[UUID, list[Event]] = {}
    async with conn.transaction():
        gap = await service.beat(conn)
        if gap < outage_threshold:
            return appended
        log.warning("no instance served for %.1f s: turn clocks get that time back", gap)
        now = await database.now(conn)
        for room_id in await rooms.timed_rooms(conn):
            room = await rooms.lock_room(conn, room_id)
            if room is None or room.turn.deadline is None or room.turn_seconds is None:
                continue
            turn = _extended(room.turn, gap, now, room.turn_seconds)
            await rooms.set_turn(conn, room.id, turn)
            data = {"turn": turn_data(turn), "outage_seconds": round(gap, 1)}
            appended[room.id] = [await event_log.append_event(conn, room.id, EventKind.TURN_EXTENDED, data)]
    return appended


def _extended(turn: Turn, gap: float, now: datetime, turn_seconds: int) -> Turn:
    if turn.deadline is None:
        raise RuntimeError("only a turn with a deadline can be extended")
    deadline = max(turn.deadline + timedelta(seconds=gap), now + timedelta(seconds=turn_seconds))
    return Turn(turn.number, turn.player_id, turn.nonce, deadline)


async def finish_if_idle(conn: Connection, room_id: UUID, idle_days: float) -> list[Event]:
    room = await rooms.lock_room(conn, room_id)
    if room is None or room.status is RoomStatus.FINISHED or not await rooms.is_idle(conn, room.id, idle_days):
        return []
    return [await finish_room(conn, room, "idle")]
