"""Who may see a room and who may change it: the rules every route and socket asks first.

Members see their rooms; signed-in users may watch open rooms; finished rooms are public. A room
a user may not see does not exist for them (404), so its id leaks nothing.
"""

from __future__ import annotations

from uuid import UUID

from server.play.views import RoomSnapshot, Viewer, room_json
from storage import Connection, NotFound, NotSignedIn, members, rooms, steps
from storage.accounts import User
from storage.rooms import Room, RoomMode, RoomStatus

__all__ = ["visible_room", "locked_room", "room_snapshot", "member_snapshot"]


async def visible_room(conn: Connection, room_id: UUID, user: User | None) -> tuple[Room, Viewer]:
    """The room and how this user sees it; NotFound (or NotSignedIn) when they may not."""
    found = await rooms.room_and_membership(conn, room_id, user.id if user else None)
    if found is None:
        raise NotFound("No such room.")
    room, member = found
    viewer = Viewer(user.id if user else None, member)
    if member or room.status is RoomStatus.FINISHED:
        return room, viewer
    if user is None:
        raise NotSignedIn("Sign in first.")
    if room.mode is RoomMode.OPEN:
        return room, viewer
    raise NotFound("No such room.")


async def locked_room(conn: Connection, room_id: UUID) -> Room:
    """The room, locked for the caller's transaction; an unknown room is NotFound."""
    room = await rooms.lock_room(conn, room_id)
    if room is None:
        raise NotFound("No such room.")
    return room


async def room_snapshot(conn: Connection, room: Room, viewer: Viewer) -> RoomSnapshot:
    """The room as this viewer may see it now: members, tiles, the running step."""
    order = await members.all_members(conn, room.id)
    tiles = await steps.room_tiles(conn, room.id)
    running = await steps.running_step(conn, room.id)
    return room_json(room, order, tiles, running, viewer)


async def member_snapshot(conn: Connection, room_id: UUID, user_id: int) -> RoomSnapshot:
    """The room as it is now, for a member who just changed it (in the same transaction or after)."""
    room = await rooms.room_by_id(conn, room_id)
    if room is None:
        raise RuntimeError(f"room {room_id} vanished")
    return await room_snapshot(conn, room, Viewer(user_id, True))
