"""The shared reveal: the host of a finished room steps every open page of it through the timelapse.

The host's socket sends `{"type": "present", "frame": K}` (K tiles shown, 0 to the room's N) or
`{"type": "present", "frame": null}` to stop. The frame is recorded in Postgres first
(storage/presentations.py), so that a socket opening later, on any instance, lands on it; then it
is published on the room's bus topic, and every hub sends `{"type": "present", "frame", "of"}` to
its sockets of the room (server/live/hub.py, channel.py). A message carries its row's `updated_at`:
a channel keeps the newest whatever order the bus delivers them in, and the hub's resync reads the
rows again, so a message the bus loses is late by one resync period at most, never lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from server.play.publisher import frame
from storage import Bus, Conflict, Database, Forbidden, InvalidField, NotFound, presentations, rooms
from storage.accounts import User
from storage.presentations import Presentation
from storage.rooms import RoomStatus

__all__ = ["present", "present_frame", "decode_presentation"]

_FRAME = "a whole number of tiles from 0 to the room's tile count, or null to stop presenting"


async def present(db: Database, bus: Bus, user: User, room_id: UUID, message: dict[str, Any]) -> Presentation:
    """A `present` frame from a socket: recorded, then published to every instance. Only the
    host of a finished room may present: Forbidden `not_host`, Conflict `room_not_finished`,
    InvalidField `frame` otherwise."""
    shown = message.get("frame", -1)  # absent is refused as -1 is
    if shown is not None and (type(shown) is not int or shown < 0):
        raise InvalidField("frame", f"must be {_FRAME}")
    async with db.acquire() as conn:
        room = await rooms.room_by_id(conn, room_id)
        if room is None:
            raise NotFound("No such room.")
        if room.host_id != user.id:
            raise Forbidden("Only the host can present the reveal.", code="not_host")
        if room.status is not RoomStatus.FINISHED:
            raise Conflict("The reveal can be presented once the room has finished.", code="room_not_finished")
        if shown is not None and shown > room.tile_count:
            raise InvalidField("frame", f"must be {_FRAME} ({room.tile_count})")
        presentation = await presentations.set_frame(conn, room.id, shown, room.tile_count)
    await bus.publish(str(room_id), _encode(presentation))
    return presentation


def present_frame(presentation: Presentation) -> str:
    """The socket frame: `frame` tiles of `of` shown, or `frame` null once the host stopped."""
    return frame({"type": "present", "frame": presentation.frame, "of": presentation.tile_count})


def _encode(presentation: Presentation) -> bytes:
    body = {
        "type": "present",
        "frame": presentation.frame,
        "of": presentation.tile_count,
        "at": presentation.updated_at.isoformat(),
    }
    return frame(body).encode()


def decode_presentation(room_id: UUID, body: dict[str, Any]) -> Presentation:
    """A `present` bus message, as _encode wrote it."""
    return Presentation(room_id, body["frame"], body["of"], datetime.fromisoformat(body["at"]))
