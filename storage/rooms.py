"""Rooms, their members and the live turn. Every function takes the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

from storage.database import Connection, returned
from storage.errors import Conflict

__all__ = [
    "RoomMode",
    "RoomStatus",
    "Room",
    "Member",
    "Turn",
    "insert_room",
    "room_by_id",
    "lock_room",
    "insert_member",
    "room_members",
    "members_of_rooms",
    "is_member",
    "set_status",
    "set_turn",
    "count_tile",
    "rooms_of_user",
    "open_rooms",
    "event_heads",
    "rooms_past_turn_deadline",
]


class RoomMode(StrEnum):
    OPEN = "open"
    FOLDED = "folded"


class RoomStatus(StrEnum):
    LOBBY = "lobby"
    PLAYING = "playing"
    FINISHED = "finished"

    def can_become(self, other: RoomStatus) -> bool:
        return (self, other) in {
            (RoomStatus.LOBBY, RoomStatus.PLAYING),
            (RoomStatus.PLAYING, RoomStatus.FINISHED),
        }


@dataclass(frozen=True)
class Turn:
    number: int
    player_id: int | None
    nonce: str | None
    deadline: datetime | None


@dataclass(frozen=True)
class Room:
    id: UUID
    name: str
    mode: RoomMode
    status: RoomStatus
    tile_size: int
    extent: tuple[int, int]
    max_steps: int
    max_members: int
    turn_seconds: int | None
    host_id: int
    invite_code: str
    turn: Turn
    seq: int
    tile_count: int
    created_at: datetime


@dataclass(frozen=True)
class Member:
    user_id: int
    display_name: str
    position: int


_ROOM_COLUMNS = """id, name, mode, status, tile_size, extent_w, extent_h, max_steps, max_members,
    turn_seconds, host_id, invite_code, turn_number, turn_player_id, turn_nonce, turn_deadline,
    seq, tile_count, created_at"""


def _room(row: asyncpg.Record) -> Room:
    return Room(
        id=row["id"],
        name=row["name"],
        mode=RoomMode(row["mode"]),
        status=RoomStatus(row["status"]),
        tile_size=row["tile_size"],
        extent=(row["extent_w"], row["extent_h"]),
        max_steps=row["max_steps"],
        max_members=row["max_members"],
        turn_seconds=row["turn_seconds"],
        host_id=row["host_id"],
        invite_code=row["invite_code"],
        turn=Turn(row["turn_number"], row["turn_player_id"], row["turn_nonce"], row["turn_deadline"]),
        seq=row["seq"],
        tile_count=row["tile_count"],
        created_at=row["created_at"],
    )


async def insert_room(
    conn: Connection,
    *,
    name: str,
    mode: RoomMode,
    tile_size: int,
    max_steps: int,
    max_members: int,
    turn_seconds: int | None,
    host_id: int,
    invite_code: str,
) -> Room:
    # Returns the new room, in the lobby.
    row = await conn.fetchrow(
        f"""INSERT INTO rooms (name, mode, tile_size, max_steps, max_members, turn_seconds, host_id, invite_code)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_ROOM_COLUMNS}""",
        name,
        mode,
        tile_size,
        max_steps,
        max_members,
        turn_seconds,
        host_id,
        invite_code,
    )
    return _room(returned(row))


async def room_by_id(conn: Connection, room_id: UUID) -> Room | None:
    # Returns the room as of now, unlocked.
    row = await conn.fetchrow(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE id = $1", room_id)
    return None if row is None else _room(row)


async def lock_room(conn: Connection, room_id: UUID) -> Room | None:
    """The room, locked until the caller's transaction ends: every state change of a room
    happens under this lock, which is what keeps its turn and its event seq linear."""
    if not conn.is_in_transaction():
        raise RuntimeError("lock_room needs the caller's transaction")
    # Returns the room, row-locked.
    row = await conn.fetchrow(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE id = $1 FOR UPDATE", room_id)
    return None if row is None else _room(row)


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


async def room_members(conn: Connection, room_id: UUID) -> list[Member]:
    # Returns the members in turn order.
    rows = await conn.fetch(
        """SELECT m.user_id, u.display_name, m.position
           FROM room_members m JOIN users u ON u.id = m.user_id
           WHERE m.room_id = $1 ORDER BY m.position""",
        room_id,
    )
    return [Member(**dict(row)) for row in rows]


async def members_of_rooms(conn: Connection, room_ids: list[UUID]) -> dict[UUID, list[Member]]:
    # Returns the members of each room, in turn order.
    rows = await conn.fetch(
        """SELECT m.room_id, m.user_id, u.display_name, m.position
           FROM room_members m JOIN users u ON u.id = m.user_id
           WHERE m.room_id = ANY($1::uuid[]) ORDER BY m.room_id, m.position""",
        room_ids,
    )
    members: dict[UUID, list[Member]] = {room_id: [] for room_id in room_ids}
    for row in rows:
        members[row["room_id"]].append(Member(row["user_id"], row["display_name"], row["position"]))
    return members


async def is_member(conn: Connection, room_id: UUID, user_id: int) -> bool:
    # Returns whether the membership row exists.
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2)",
        room_id,
        user_id,
    )


async def set_status(conn: Connection, room: Room, status: RoomStatus) -> None:
    if not room.status.can_become(status):
        raise RuntimeError(f"room {room.id}: {room.status} cannot become {status}")
    stamp = {RoomStatus.PLAYING: "started_at", RoomStatus.FINISHED: "finished_at"}[status]
    # Returns nothing; clears the turn when the room finishes.
    await conn.execute(
        f"""UPDATE rooms SET status = $2, {stamp} = now(),
                turn_nonce = CASE WHEN $2 = 'finished' THEN NULL ELSE turn_nonce END,
                turn_deadline = CASE WHEN $2 = 'finished' THEN NULL ELSE turn_deadline END
            WHERE id = $1""",
        room.id,
        status,
    )


async def set_turn(conn: Connection, room_id: UUID, turn: Turn) -> None:
    # Returns nothing.
    await conn.execute(
        """UPDATE rooms SET turn_number = $2, turn_player_id = $3, turn_nonce = $4, turn_deadline = $5
           WHERE id = $1""",
        room_id,
        turn.number,
        turn.player_id,
        turn.nonce,
        turn.deadline,
    )


async def count_tile(conn: Connection, room_id: UUID) -> int:
    # Returns the room's new tile count.
    return await conn.fetchval(
        "UPDATE rooms SET tile_count = tile_count + 1 WHERE id = $1 RETURNING tile_count", room_id
    )


async def rooms_of_user(conn: Connection, user_id: int, limit: int = 100) -> list[Room]:
    # Returns the user's rooms, newest first.
    rows = await conn.fetch(
        f"""SELECT {_ROOM_COLUMNS} FROM rooms
            WHERE id IN (SELECT room_id FROM room_members WHERE user_id = $1)
            ORDER BY created_at DESC LIMIT $2""",
        user_id,
        limit,
    )
    return [_room(row) for row in rows]


async def open_rooms(conn: Connection, exclude_user: int, limit: int = 50) -> list[Room]:
    # Returns open rooms in the lobby or playing that the user is not in, newest first.
    rows = await conn.fetch(
        f"""SELECT {_ROOM_COLUMNS} FROM rooms
            WHERE mode = 'open' AND status IN ('lobby', 'playing')
              AND id NOT IN (SELECT room_id FROM room_members WHERE user_id = $1)
            ORDER BY created_at DESC LIMIT $2""",
        exclude_user,
        limit,
    )
    return [_room(row) for row in rows]


async def event_heads(conn: Connection, room_ids: list[UUID]) -> dict[UUID, int]:
    # Returns each room's last event seq.
    rows = await conn.fetch("SELECT id, seq FROM rooms WHERE id = ANY($1::uuid[])", room_ids)
    return {row["id"]: row["seq"] for row in rows}


async def rooms_past_turn_deadline(conn: Connection, limit: int = 100) -> list[UUID]:
    # Returns playing rooms whose turn deadline has passed and that have no step running.
    rows = await conn.fetch(
        """SELECT r.id FROM rooms r
           WHERE r.status = 'playing' AND r.turn_deadline < now()
             AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.room_id = r.id AND s.status = 'running')
           LIMIT $1""",
        limit,
    )
    return [row["id"] for row in rows]
