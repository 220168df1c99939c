"""The lobby's lists: a user's own rooms, and the open rooms worth watching, a page at a time."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from storage.database import Connection
from storage.rooms import ROOM_COLUMNS, Room, room_from_row

__all__ = ["rooms_of_user", "watchable_rooms", "WATCH_WINDOW_MINUTES"]

# A playing room is worth watching while something happened in it this recently.
WATCH_WINDOW_MINUTES = 10


async def rooms_of_user(conn: Connection, user_id: int, limit: int = 100) -> list[Room]:
    # Returns the rooms the user is in now: playing first, then the lobby, then finished; newest first.
    rows = await conn.fetch(
        f"""SELECT {ROOM_COLUMNS} FROM rooms
            WHERE id IN (SELECT room_id FROM room_members WHERE user_id = $1 AND left_at IS NULL)
            ORDER BY CASE status WHEN 'playing' THEN 0 WHEN 'lobby' THEN 1 ELSE 2 END, created_at DESC
            LIMIT $2""",
        user_id,
        limit,
    )
    return [room_from_row(row) for row in rows]


async def watchable_rooms(
    conn: Connection, exclude_user: int, after: tuple[datetime, UUID] | None, limit: int
) -> list[tuple[Room, datetime]]:
    """Open rooms playing with a step or a member's socket in the last WATCH_WINDOW_MINUTES that
    the user is not in, newest activity first, each with that activity; `after` is the
    (activity, id) of the last room of the previous page."""
    # Returns a page of rooms with their last activity.
    rows = await conn.fetch(
        f"""SELECT * FROM (
                SELECT {ROOM_COLUMNS},
                       greatest(last_step_at, member_seen_at, started_at) AS activity
                FROM rooms
                WHERE mode = 'open' AND status = 'playing'
                  AND id NOT IN (SELECT room_id FROM room_members WHERE user_id = $1 AND left_at IS NULL)
            ) listed
            WHERE activity > now() - make_interval(mins => $2)
              AND ($3::timestamptz IS NULL OR (activity, id) < ($3, $4::uuid))
            ORDER BY activity DESC, id DESC LIMIT $5""",
        exclude_user,
        WATCH_WINDOW_MINUTES,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [(room_from_row(row), row["activity"]) for row in rows]
