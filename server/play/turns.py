"""Whose turn comes next: fixed turn order, a fresh nonce and deadline per turn; and the end."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from server.play.views import iso
from storage import Connection, database, rooms
from storage import events as event_log
from storage.events import Event, EventKind
from storage.rooms import Member, Room, RoomStatus, Turn

__all__ = ["next_turn", "new_nonce", "advance_turn", "finish_room", "turn_data"]


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def _deadline(turn_seconds: int | None, now: datetime) -> datetime | None:
    return None if turn_seconds is None else now + timedelta(seconds=turn_seconds)


def next_turn(current: Turn, members: Sequence[Member], turn_seconds: int | None, now: datetime) -> Turn:
    """The member after the current player in turn order, wrapping around. Members who joined
    mid-game sit at the end of the order, so they come up when the order reaches them."""
    positions = {member.user_id: member.position for member in members}
    current_position = -1 if current.player_id is None else positions.get(current.player_id, -1)
    later = [member for member in members if member.position > current_position]
    player = (later or list(members))[0]
    return Turn(current.number + 1, player.user_id, new_nonce(), _deadline(turn_seconds, now))


async def advance_turn(conn: Connection, room: Room, kind: EventKind, **extra: object) -> Event:
    """Hands the turn to the next member (room locked by the caller) and records it."""
    members = await rooms.room_members(conn, room.id)
    now = await database.now(conn)
    turn = next_turn(room.turn, members, room.turn_seconds, now)
    await rooms.set_turn(conn, room.id, turn)
    return await event_log.append_event(conn, room.id, kind, {**extra, "turn": turn_data(turn)})


def turn_data(turn: Turn) -> dict[str, object]:
    """The turn as events store it; readers strip the nonce for all but its player."""
    return {"number": turn.number, "player_id": turn.player_id, "deadline": iso(turn.deadline), "nonce": turn.nonce}


async def finish_room(conn: Connection, room: Room, reason: str) -> Event:
    await rooms.set_status(conn, room, RoomStatus.FINISHED)
    return await event_log.append_event(conn, room.id, EventKind.ROOM_FINISHED, {"reason": reason})
