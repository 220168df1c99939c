"""Play again: a new lobby room with the finished room's settings and its members in their order,
announced in the old room so that every open page can follow."""

from __future__ import annotations

import secrets

from storage import Conflict, Connection, members, rooms
from storage import events as event_log
from storage.events import Event, EventKind
from storage.rooms import Room, RoomStatus

__all__ = ["new_invite_code", "rematch"]


def new_invite_code() -> str:
    return secrets.token_urlsafe(9)


async def rematch(conn: Connection, room: Room) -> tuple[Room, list[Event], Event]:
    """The new room (the old one locked by the caller), its member.joined events, and the old
    room's room.rematch event."""
    if room.status is not RoomStatus.FINISHED:
        raise Conflict("The room is still going; play again once it has finished.", code="room_not_finished")
    if room.rematch_id is not None:
        raise Conflict("This room already has a rematch.", code="already_rematched")
    order = await members.room_members(conn, room.id)
    new = await rooms.insert_room(
        conn,
        name=room.name,
        mode=room.mode,
        tile_size=room.tile_size,
        max_steps=room.max_steps,
        max_members=max(room.max_members, len(order)),
        turn_seconds=room.turn_seconds,
        host_id=room.host_id,
        invite_code=new_invite_code(),
    )
    joined = []
    for member in order:
        position = await members.insert_member(conn, new.id, member.user_id)
        data = {"user_id": member.user_id, "display_name": member.display_name, "position": position}
        joined.append(await event_log.append_event(conn, new.id, EventKind.MEMBER_JOINED, data))
    await rooms.set_rematch(conn, room.id, new.id)
    announced = await event_log.append_event(conn, room.id, EventKind.ROOM_REMATCH, {"room_id": str(new.id)})
    return new, joined, announced
