"""Leaving and removal: whoever goes, the game goes on or ends, never stuck.

In the lobby a member who leaves is simply gone; while playing they keep their place but are
skipped from then on, and a turn of theirs passes at once (a step of theirs already painting
finishes normally and passes it then). A removed member may not come back. When the host goes,
the next member in order becomes host; when nobody is left, the room finishes, `abandoned`.
Every function here needs the room locked by the caller's transaction.
"""

from __future__ import annotations

from server.play.turns import finish_room, skip_turn
from server.settings import Settings
from storage import Conflict, Connection, members, rooms, steps
from storage import events as event_log
from storage.events import Event, EventKind
from storage.members import LeftReason, Member
from storage.rooms import Room, RoomStatus

__all__ = ["take_out"]


async def take_out(conn: Connection, room: Room, member: Member, reason: LeftReason, settings: Settings) -> list[Event]:
    """Takes `member` out of the room for `reason`; returns the events appended."""
    # The last one out finishes the room, which would abort a step that is painting: a whole
    # generation, then a refund. Like the host's finish, that waits for the step.
    last_one = room.status is RoomStatus.PLAYING and len(await members.room_members(conn, room.id)) == 1
    if last_one and await steps.running_step(conn, room.id) is not None:
        raise Conflict("Your tile is being painted; leave once it is done.", code="step_in_flight")
    if room.status is RoomStatus.LOBBY and reason is LeftReason.LEFT:
        await members.delete_member(conn, room.id, member.user_id)
    else:
        await members.mark_left(conn, room.id, member.user_id, reason)
    left = {"user_id": member.user_id, "display_name": member.display_name, "reason": reason.value}
    events = [await event_log.append_event(conn, room.id, EventKind.MEMBER_LEFT, left)]
    remaining = await members.room_members(conn, room.id)
    if not remaining:
        return [*events, await finish_room(conn, room, "abandoned")]
    if room.host_id == member.user_id:
        events.append(await _hand_over(conn, room, member, remaining))
    its_turn = room.status is RoomStatus.PLAYING and room.turn.player_id == member.user_id
    if its_turn and await steps.running_step(conn, room.id) is None:
        # A removal is the host's doing; the turn.skipped reasons say who moved the turn on.
        events += await skip_turn(conn, room, settings, "left" if reason is LeftReason.LEFT else "host")
    return events


async def _hand_over(conn: Connection, room: Room, host: Member, remaining: list[Member]) -> Event:
    """The host passes to the next member in order after the one who went, wrapping around."""
    later = [m for m in remaining if m.position > host.position]
    successor = (later or remaining)[0]
    await rooms.set_host(conn, room.id, successor.user_id)
    changed = {"host_id": successor.user_id, "previous_host_id": host.user_id, "display_name": successor.display_name}
    return await event_log.append_event(conn, room.id, EventKind.ROOM_HOST_CHANGED, changed)
