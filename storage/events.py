"""The room event log: one row per state change, seq gap-free per room (invariant I4)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from storage.database import Connection, returned
from storage.rooms import Turn

__all__ = ["EventKind", "Event", "append_event", "events_after", "oldest_seq"]


class EventKind(StrEnum):
    MEMBER_JOINED = "member.joined"
    MEMBER_LEFT = "member.left"
    ROOM_STARTED = "room.started"
    TURN_CHANGED = "turn.changed"
    TURN_SKIPPED = "turn.skipped"
    STEP_STARTED = "step.started"
    STEP_COMMITTED = "step.committed"
    STEP_ABORTED = "step.aborted"
    ROOM_FINISHED = "room.finished"
    ROOM_HOST_CHANGED = "room.host_changed"
    ROOM_REMATCH = "room.rematch"
    TURN_EXTENDED = "turn.extended"


@dataclass(frozen=True)
class Event:
    room_id: UUID
    seq: int
    kind: str
    data: dict
    at: datetime


async def append_event(
    conn: Connection, room_id: UUID, kind: EventKind, data: dict, *, begin_turn: Turn | None = None
) -> Event:
    """Appends the next event of the room, in the caller's transaction.

    Taking the seq from the room row serialises appenders on that row, so seqs have no gaps and
    no duplicates, and an event exists exactly when the change it records was committed.
    With `begin_turn`, the same statement does rooms.begin_turn()'s work: one round trip.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("append_event needs the caller's transaction")
    turn_args: tuple[object, ...] = ()
    turn_sets = ""
    if begin_turn is not None:
        turn_sets = """, turn_number = $4, turn_player_id = $5, turn_nonce = $6, turn_deadline = $7,
               turn_started_at = now()"""
        turn_args = (begin_turn.number, begin_turn.player_id, begin_turn.nonce, begin_turn.deadline)
    # Returns the appended event.
    row = await conn.fetchrow(
        f"""WITH head AS (UPDATE rooms SET seq = seq + 1{turn_sets} WHERE id = $1 RETURNING seq)
           INSERT INTO room_events (room_id, seq, kind, data)
           SELECT $1, head.seq, $2, $3::jsonb FROM head
           RETURNING seq, at""",
        room_id,
        kind,
        json.dumps(data),
        *turn_args,
    )
    row = returned(row)
    return Event(room_id, row["seq"], str(kind), data, row["at"])


async def events_after(conn: Connection, room_id: UUID, after: int, limit: int = 1000) -> list[Event]:
    # Returns the room's events with seq > after, oldest first.
    rows = await conn.fetch(
        """SELECT seq, kind, data, at FROM room_events
           WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3""",
        room_id,
        after,
        limit,
    )
    return [Event(room_id, row["seq"], row["kind"], json.loads(row["data"]), row["at"]) for row in rows]


async def oldest_seq(conn: Connection, room_id: UUID) -> int | None:
    # Returns the smallest retained seq of the room, or None when it has no events.
    return await conn.fetchval("SELECT min(seq) FROM room_events WHERE room_id = $1", room_id)
