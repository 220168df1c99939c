"""Joining and leaving a room: join with the invite code, leave, and the host's removal."""

from __future__ import annotations

import hmac
from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.answers import RoomReply
from server.http.documented import Answer, documented
from server.http.sessions import current_user
from server.http.validation import Body, Text, parse_room_id, read_json, services_of, whole_number
from server.play.access import locked_room, member_snapshot
from server.play.membership import take_out
from storage import Conflict, Forbidden, InvalidField, NotFound, members
from storage import events as event_log
from storage.events import EventKind
from storage.members import LeftReason
from storage.rooms import RoomMode, RoomStatus

__all__ = ["routes", "Join"]


class Join(Body):
    invite_code: Annotated[Text, Field(max_length=100)]


@documented(
    "joinRoom",
    "Join with the invite code; appended to the turn order (`403 removed_from_room` after a removal).",
    tag="rooms",
    auth="signed_in",
    body=Join,
    answers={200: Answer("The room, now with this user as a member.", RoomReply)},
    errors=(403, 404, 409),
)
async def join_room(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    body = await read_json(request, Join)
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await locked_room(conn, room_id)
            current = await members.membership(conn, room.id, user.id)
            if current is not None and current.active:
                raise Conflict("You are already in this room.", code="already_member")
            if not hmac.compare_digest(body.invite_code.encode(), room.invite_code.encode()):
                raise Forbidden("That invite code is not right for this room.", code="bad_invite_code")
            if current is not None and current.left is LeftReason.REMOVED:
                raise Forbidden("The host removed you from this room.", code="removed_from_room")
            if room.status is RoomStatus.FINISHED:
                raise Conflict("This room has finished.", code="room_finished")
            if len(await members.room_members(conn, room.id)) >= room.max_members:
                raise Conflict("This room is full.", code="room_full")
            if current is None:
                position = await members.insert_member(conn, room.id, user.id)
            else:
                position = await members.rejoin_member(conn, room.id, user.id)
            joined = {"user_id": user.id, "display_name": user.display_name, "position": position}
            event = await event_log.append_event(conn, room.id, EventKind.MEMBER_JOINED, joined)
        snapshot = await member_snapshot(conn, room.id, user.id)
    await services.publisher.publish_events(room.id, [event])
    return JSONResponse(RoomReply(room=snapshot))


@documented(
    "leaveRoom",
    "Leave the room: a turn of mine passes at once; the last to leave finishes it.",
    tag="rooms",
    auth="signed_in",
    answers={204: Answer("Left.", media_type=None)},
    errors=(403, 404, 409),
)
async def leave_room(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    async with services.db.acquire() as conn, conn.transaction():
        room = await locked_room(conn, room_id)
        member = await members.membership(conn, room.id, user.id)
        if member is None or not member.active:
            if room.mode is RoomMode.FOLDED and room.status is not RoomStatus.FINISHED:
                raise NotFound("No such room.")
            raise Forbidden("You are not in this room.", code="not_a_member")
        if room.status is RoomStatus.FINISHED:
            raise Conflict("This room has finished.", code="room_finished")
        events = await take_out(conn, room, member, LeftReason.LEFT, services.settings)
    await services.publisher.publish_events(room.id, events)
    return Response(status_code=204)


@documented(
    "removeMember",
    "Host only: take a member out of the room; they may not rejoin.",
    tag="rooms",
    auth="signed_in",
    answers={200: Answer("The room without them.", RoomReply)},
    errors=(403, 404, 409),
)
async def remove_member(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    try:
        target_id = whole_number(request.path_params["user_id"], "user_id")
    except InvalidField:
        raise NotFound("No such member.") from None
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await locked_room(conn, room_id)
            if not await members.is_member(conn, room.id, user.id):
                if room.mode is RoomMode.FOLDED and room.status is not RoomStatus.FINISHED:
                    raise NotFound("No such room.")
                raise Forbidden("Only the host can do that.", code="not_host")
            if room.host_id != user.id:
                raise Forbidden("Only the host can do that.", code="not_host")
            if target_id == user.id:
                raise Conflict("To go yourself, leave the room.", code="cannot_remove_self")
            target = await members.membership(conn, room.id, target_id)
            if target is None or not target.active:
                raise NotFound("No such member.")
            if room.status is RoomStatus.FINISHED:
                raise Conflict("This room has finished.", code="room_finished")
            events = await take_out(conn, room, target, LeftReason.REMOVED, services.settings)
        snapshot = await member_snapshot(conn, room.id, user.id)
    await services.publisher.publish_events(room.id, events)
    return JSONResponse(RoomReply(room=snapshot))


routes = [
    Route("/api/rooms/{room_id}/join", join_room, methods=["POST"]),
    Route("/api/rooms/{room_id}/leave", leave_room, methods=["POST"]),
    Route("/api/rooms/{room_id}/members/{user_id}/remove", remove_member, methods=["POST"]),
]
