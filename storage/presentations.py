"""The shared reveal of a finished room: the timelapse frame its host shows everyone now
(server/live/presentation.py). One row per room that was ever presented; `frame` NULL once ended."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from uuid import UUID

import asyncpg

from storage.database import Connection, returned

__all__ = ["Presentation", "set_frame", "current", "current_many"]


@dataclasses.dataclass(frozen=True)
class Presentation:
    room_id: UUID
    # How many tiles the frame shows (0 is the blank canvas), or None: the host stopped presenting.
    frame: int | None
    tile_count: int
    # Strictly increasing per room, in commit order: a hub keeps the latest whatever order news arrives in.
    updated_at: datetime


def _presentation(row: asyncpg.Record) -> Presentation:
    return Presentation(row["room_id"], row["frame"], row["tile_count"], row["updated_at"])


async def set_frame(conn: Connection, room_id: UUID, frame: int | None, tile_count: int) -> Presentation:
    """Records the frame shown now; the row lock orders concurrent writers, the later one newer."""
    # Returns the row as written.
    row = await conn.fetchrow(
        """INSERT INTO presentations AS p (room_id, frame, tile_count, updated_at)
           VALUES ($1, $2, $3, clock_timestamp())
           ON CONFLICT (room_id) DO UPDATE
           SET frame = EXCLUDED.frame, tile_count = EXCLUDED.tile_count,
               updated_at = greatest(clock_timestamp(), p.updated_at + interval '1 microsecond')
           RETURNING room_id, frame, tile_count, updated_at""",
        room_id,
        frame,
        tile_count,
    )
    return _presentation(returned(row))


async def current(conn: Connection, room_id: UUID) -> Presentation | None:
    # Returns the room's presentation row, ended or not; None if it was never presented.
    row = await conn.fetchrow(
        "SELECT room_id, frame, tile_count, updated_at FROM presentations WHERE room_id = $1", room_id
    )
    return None if row is None else _presentation(row)


async def current_many(conn: Connection, room_ids: list[UUID]) -> list[Presentation]:
    # Returns the presentation rows of those rooms that have one.
    rows = await conn.fetch(
        "SELECT room_id, frame, tile_count, updated_at FROM presentations WHERE room_id = ANY($1::uuid[])",
        room_ids,
    )
    return [_presentation(row) for row in rows]
