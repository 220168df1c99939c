"""A room's members and their turn order. Every function takes the caller's connection, and
those that change the order need the room locked by it (storage.rooms.lock_room).

A member who leaves or is removed while the room plays keeps their row and place (their tiles
keep a name), marked with why; the turn order skips them. In the lobby the row goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

from storage.database import Connection
from storage.errors import Conflict

__all__ = [
    "LeftReason",
    "Member",
    "insert_member",
    "membership",
    "room_members",
    "all_members",
    "members_of_rooms",
    "is_member",
    "rejoin_member",
    "mark_left",
    "delete_member",
]


class LeftReason(StrEnum):
    LEFT = "left"
    REMOVED = "removed"


@dataclass(frozen=True)
class Member:
    user_id: int
    display_name: str
    position: int
    # Why they are no longer in the order, or None while they are.
    left: LeftReason | None = None
    left_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.left is None


_MEMBER_COLUMNS = "m.user_id, u.display_name, m.position, m.left_reason, m.left_at"


def _member(row: asyncpg.Record) -> Member:
    reason = row["left_reason"]
    return Member(
        row["user_id"],
        row["display_name"],
        row["position"],
        None if reason is None else LeftReason(reason),
        row["left_at"],
    )


async def insert_member(conn: Connection, room_id: UUID, user_id: int) -> int:
    """Appends the user to the turn order (the room must be locked); returns their position."""
    try:
        # Returns the new member's position, one past the last.
        return await conn.fetchval(
            """INSERT INTO room_members (room_id, user_id, position)
               SELECT $1, $2, coalesce(max(position) + 1, 0) FROM room_members WHERE room_id = $1
               RETURNING position""",
            room_id,
            user_id,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("You are already in this room.", code="already_member") from exc


async def rejoin_member(conn: Connection, room_id: UUID, user_id: int) -> int:
    """Takes back a member who left, at the end of the turn order; returns their position."""
    # Returns the member's new position, one past the last.
    return await conn.fetchval(
        """UPDATE room_members SET left_at = NULL, left_reason = NULL,
               position = (SELECT max(position) + 1 FROM room_members WHERE room_id = $1)
           WHERE room_id = $1 AND user_id = $2 RETURNING position""",
        room_id,
        user_id,
    )


async def membership(conn: Connection, room_id: UUID, user_id: int) -> Member | None:
    # Returns the user's membership row in the room, active or not.
    row = await conn.fetchrow(
        f"""SELECT {_MEMBER_COLUMNS} FROM room_members m JOIN users u ON u.id = m.user_id
            WHERE m.room_id = $1 AND m.user_id = $2""",
        room_id,
        user_id,
    )
    return None if row is None else _member(row)


async def room_members(conn: Connection, room_id: UUID) -> list[Member]:
    """The members in the turn order now, in order."""
    return [member for member in await all_members(conn, room_id) if member.active]


async def all_members(conn: Connection, room_id: UUID) -> list[Member]:
    # Returns every member row of the room, those who left too, in turn order.
    rows = await conn.fetch(
        f"""SELECT {_MEMBER_COLUMNS} FROM room_members m JOIN users u ON u.id = m.user_id
            WHERE m.room_id = $1 ORDER BY m.position""",
        room_id,
    )
    return [_member(row) for row in rows]


async def order_and_now(conn: Connection, room_id: UUID) -> tuple[list[Member], datetime | None]:
    """all_members(), and the transaction's clock (database.now()) in the same round trip; the
    clock is None for a room without members."""
    # Returns every member row of the room in turn order, each with now().
    rows = await conn.fetch(
        f"""SELECT {_MEMBER_COLUMNS}, now() AS now FROM room_members m JOIN users u ON u.id = m.user_id
            WHERE m.room_id = $1 ORDER BY m.position""",
        room_id,
    )
    return [_member(row) for row in rows], (rows[0]["now"] if rows else None)


async def members_of_rooms(conn: Connection, room_ids: list[UUID]) -> dict[UUID, list[Member]]:
    # Returns the active members of each room, in turn order.
    rows = await conn.fetch(
        f"""SELECT m.room_id, {_MEMBER_COLUMNS} FROM room_members m JOIN users u ON u.id = m.user_id
            WHERE m.room_id = ANY($1::uuid[]) AND m.left_at IS NULL ORDER BY m.room_id, m.position""",
        room_ids,
    )
    members: dict[UUID, list[Member]] = {room_id: [] for room_id in room_ids}
    for row in rows:
        members[row["room_id"]].append(_member(row))
    return members


async def is_member(conn: Connection, room_id: UUID, user_id: int) -> bool:
    # Returns whether the user is in the room's turn order now.
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2 AND left_at IS NULL)",
        room_id,
        user_id,
    )


async def mark_left(conn: Connection, room_id: UUID, user_id: int, reason: LeftReason) -> None:
    """Takes a member out of a playing room's order, keeping their row and place."""
    # Returns nothing.
    await conn.execute(
        "UPDATE room_members SET left_at = now(), left_reason = $3 WHERE room_id = $1 AND user_id = $2",
        room_id,
        user_id,
        reason,
    )


async def delete_member(conn: Connection, room_id: UUID, user_id: int) -> None:
    """Takes a member out of a lobby: nothing of theirs is in the room yet."""
    # Returns nothing.
    await conn.execute("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2", room_id, user_id)
