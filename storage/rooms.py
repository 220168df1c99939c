"""Rooms, their members and the live turn. Every function takes the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

from storage.database import Connection, returned
from storage.members import LeftReason, Member
from storage.steps import Step, step_from_record

__all__ = [
    "RoomMode",
    "RoomStatus",
    "Room",
    "Turn",
    "insert_room",
    "room_by_id",
    "lock_room",
    "room_by_invite",
    "set_status",
    "set_host",
    "set_rematch",
    "begin_turn",
    "set_turn",
    "count_unattended_turn",
    "note_members_seen",
    "event_heads",
    "rooms_past_turn_deadline",
    "idle_rooms",
    "is_idle",
    "timed_rooms",
]


class RoomMode(StrEnum):
    OPEN = "open"
    FOLDED = "folded"


class RoomStatus(StrEnum):
    LOBBY = "lobby"
    PLAYING = "playing"
    FINISHED = "finished"

    def can_become(self, other: RoomStatus) -> bool:
        # A lobby may finish too: when everyone leaves it, or nobody starts it for days.
        return (self, other) in {
            (RoomStatus.LOBBY, RoomStatus.PLAYING),
            (RoomStatus.LOBBY, RoomStatus.FINISHED),
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
    # When the live turn began; the last time a hub saw a member's socket; the last step begun.
    turn_started_at: datetime | None = None
    member_seen_at: datetime | None = None
    last_step_at: datetime | None = None
    # Turns in a row that passed by their deadline with no member there.
    unattended_turns: int = 0
    rematch_id: UUID | None = None


ROOM_COLUMNS = """id, name, mode, status, tile_size, extent_w, extent_h, max_steps, max_members,
    turn_seconds, host_id, invite_code, turn_number, turn_player_id, turn_nonce, turn_deadline,
    seq, tile_count, created_at, turn_started_at, member_seen_at, last_step_at, unattended_turns, rematch_id"""


def room_from_row(row: asyncpg.Record) -> Room:
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
        turn_started_at=row["turn_started_at"],
        member_seen_at=row["member_seen_at"],
        last_step_at=row["last_step_at"],
        unattended_turns=row["unattended_turns"],
        rematch_id=row["rematch_id"],
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
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ROOM_COLUMNS}""",
        name,
        mode,
        tile_size,
        max_steps,
        max_members,
        turn_seconds,
        host_id,
        invite_code,
    )
    return room_from_row(returned(row))


async def room_by_id(conn: Connection, room_id: UUID) -> Room | None:
    # Returns the room as of now, unlocked.
    row = await conn.fetchrow(f"SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1", room_id)
    return None if row is None else room_from_row(row)


async def room_and_membership(conn: Connection, room_id: UUID, user_id: int | None) -> tuple[Room, bool] | None:
    """The room as of now, unlocked, and whether the user is in its turn order: one round trip."""
    # Returns the room and whether the user (None: nobody) is a member now.
    row = await conn.fetchrow(
        f"""SELECT {ROOM_COLUMNS}, EXISTS (SELECT 1 FROM room_members m
                   WHERE m.room_id = rooms.id AND m.user_id = $2 AND m.left_at IS NULL) AS is_member
            FROM rooms WHERE id = $1""",
        room_id,
        user_id,
    )
    return None if row is None else (room_from_row(row), row["is_member"])


@dataclass(frozen=True)
class StepCheck:
    """What the check before TX1 reads: the locked room, whether the user is a member, whether a
    step runs, the cells of its tiles in placement order and each one's blob address (what the
    step will paint beside), the user's balance, and the user's step made with this
    Idempotency-Key, if any (read after the lock, so a replay sees its original)."""

    room: Room | None
    member: bool
    running: bool
    addresses: dict[tuple[int, int], str]  # in placement order
    credits: int
    original: Step | None

    @property
    def path(self) -> list[tuple[int, int]]:
        return list(self.addresses)


async def lock_for_step(conn: Connection, room_id: UUID, user_id: int, key: str) -> StepCheck:
    """The step check's facts and the key's step, in one round trip (schema.sql's
    lock_for_step_and_tiles(): it takes the room lock and reads after it, so it sees what the
    lock's last holder committed).
    Outside a transaction, as check + TX1 calls it, the lock ends with the statement: TX1's
    steps.begin_step() takes it again and writes only if the room's seq is still `room.seq`.
    `room` is None for an unknown room."""
    # Returns one row: the room (NULL if unknown), the facts, the tiles, and the key's step.
    row = returned(await conn.fetchrow("SELECT * FROM lock_for_step_and_tiles($1, $2, $3)", room_id, user_id, key))
    found = row["r_room"] is not None and row["r_room"]["id"] is not None
    return StepCheck(
        room=room_from_row(row["r_room"]) if found else None,
        member=bool(row["r_member"]),
        running=bool(row["r_running"]),
        addresses=dict(zip(zip(row["r_xs"], row["r_ys"], strict=True), row["r_shas"], strict=True)),
        credits=row["r_credits"] or 0,
        original=None if row["r_step"] is None else step_from_record(row["r_step"]),
    )


@dataclass(frozen=True)
class CommitCheck:
    """What TX2 reads under the room lock: the room (its seq, which TX2's writes check), whether our
    unexpired lease holds, the cells of its tiles in placement order, and what the next turn needs:
    the turn order (those who left too), each member's balance and the database's clock."""

    room: Room
    held: bool
    path: list[tuple[int, int]]
    order: list[Member]
    balances: dict[int, int]
    now: datetime


async def lock_for_commit(conn: Connection, room_id: UUID, token: int) -> CommitCheck | None:
    """lock_room(), then steps.hold_lease() and the rest of CommitCheck, in one round trip
    (schema.sql's lock_for_commit_and_turn(), which takes the room lock before the lease's). Alone,
    the locks last as long as the read; in the caller's transaction, until it ends."""
    # Returns the row-locked room, whether our lease holds, the path, the members and the clock.
    row = await conn.fetchrow("SELECT * FROM lock_for_commit_and_turn($1, $2)", room_id, token)
    if row is None:
        return None
    columns = ("r_user_ids", "r_names", "r_positions", "r_left_reasons", "r_left_ats")
    order = [
        Member(user, name, place, None if left is None else LeftReason(left), left_at)
        for user, name, place, left, left_at in zip(*(row[column] for column in columns), strict=True)
    ]
    return CommitCheck(
        room=room_from_row(row["r_room"]),
        held=row["r_held"],
        path=list(zip(row["r_xs"], row["r_ys"], strict=True)),
        order=order,
        balances=dict(zip(row["r_user_ids"], row["r_credits"], strict=True)),
        now=row["r_now"],
    )


async def lock_room(conn: Connection, room_id: UUID) -> Room | None:
    """The room, locked until the caller's transaction ends: every state change of a room
    happens under this lock, which is what keeps its turn and its event seq linear."""
    if not conn.is_in_transaction():
        raise RuntimeError("lock_room needs the caller's transaction")
    # Returns the room, row-locked.
    row = await conn.fetchrow(f"SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1 FOR UPDATE", room_id)
    return None if row is None else room_from_row(row)


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


async def begin_turn(conn: Connection, room_id: UUID, turn: Turn) -> None:
    """Makes `turn` the live turn, beginning now."""
    # Returns nothing.
    await conn.execute(
        """UPDATE rooms SET turn_number = $2, turn_player_id = $3, turn_nonce = $4, turn_deadline = $5,
               turn_started_at = now()
           WHERE id = $1""",
        room_id,
        turn.number,
        turn.player_id,
        turn.nonce,
        turn.deadline,
    )


async def set_turn(conn: Connection, room_id: UUID, turn: Turn) -> None:
    """Changes the live turn's fields (a new deadline) without beginning it anew."""
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


async def room_by_invite(conn: Connection, invite_code: str) -> Room | None:
    # Returns the newest room with this invite code.
    row = await conn.fetchrow(
        f"SELECT {ROOM_COLUMNS} FROM rooms WHERE invite_code = $1 ORDER BY created_at DESC LIMIT 1", invite_code
    )
    return None if row is None else room_from_row(row)


async def set_host(conn: Connection, room_id: UUID, user_id: int) -> None:
    # Returns nothing.
    await conn.execute("UPDATE rooms SET host_id = $2 WHERE id = $1", room_id, user_id)


async def set_rematch(conn: Connection, room_id: UUID, rematch_id: UUID) -> None:
    # Returns nothing.
    await conn.execute("UPDATE rooms SET rematch_id = $2 WHERE id = $1", room_id, rematch_id)


async def count_unattended_turn(conn: Connection, room_id: UUID, *, attended: bool) -> int:
    """Counts a turn that passed by its deadline: in a row when nobody was there, else from 0."""
    # Returns the new count of unattended turns in a row.
    return await conn.fetchval(
        """UPDATE rooms SET unattended_turns = CASE WHEN $2 THEN 0 ELSE unattended_turns + 1 END
           WHERE id = $1 RETURNING unattended_turns""",
        room_id,
        attended,
    )


async def note_members_seen(conn: Connection, room_ids: list[UUID]) -> None:
    """A hub has a member's socket open in each of these rooms, now."""
    # Returns nothing.
    await conn.execute("UPDATE rooms SET member_seen_at = now() WHERE id = ANY($1::uuid[])", room_ids)


_IDLE = """r.status IN ('lobby', 'playing')
    AND greatest(r.created_at, r.started_at, r.last_step_at) < now() - make_interval(secs => $1 * 86400)
    AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.room_id = r.id AND s.status = 'running')"""


async def idle_rooms(conn: Connection, idle_days: float, limit: int = 100) -> list[UUID]:
    # Returns unfinished rooms with no step (nor a start) for `idle_days`, and none running.
    rows = await conn.fetch(f"SELECT r.id FROM rooms r WHERE {_IDLE} LIMIT $2", float(idle_days), limit)
    return [row["id"] for row in rows]


async def is_idle(conn: Connection, room_id: UUID, idle_days: float) -> bool:
    # Returns whether the room is one idle_rooms() would list.
    idle: bool = await conn.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM rooms r WHERE {_IDLE} AND r.id = $2)", float(idle_days), room_id
    )
    return idle


async def timed_rooms(conn: Connection) -> list[UUID]:
    # Returns playing rooms whose turn has a deadline.
    rows = await conn.fetch("SELECT id FROM rooms WHERE status = 'playing' AND turn_deadline IS NOT NULL")
    return [row["id"] for row in rows]
