"""Room routes: create, list, view, join, start, finish, and the event log."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import engine
from server.http.answers import EventPage, RoomList, RoomReply
from server.http.documented import Answer, Endpoint, documented
from server.http.sessions import current_user, optional_user
from server.http.validation import (
    MAX_WHOLE_NUMBER_DIGITS,
    Body,
    OneOf,
    PrintableLine,
    Text,
    parse_room_id,
    read_json,
    services_of,
    whole_number,
)
from server.play.access import locked_room, room_snapshot, visible_room
from server.play.shapes import RoomModeName, RoomSnapshot
from server.play.turns import advance_turn, finish_room
from server.play.views import Viewer, event_json, room_summary
from storage import Conflict, Connection, Forbidden, NotFound, rooms
from storage import events as event_log
from storage.events import Event, EventKind
from storage.rooms import Room, RoomMode, RoomStatus

__all__ = ["routes", "CreateRoom", "Join"]

DEFAULT_MAX_STEPS = 16


class CreateRoom(Body):
    name: Annotated[PrintableLine, Field(min_length=1, max_length=80)]
    mode: RoomModeName
    tile_size: Annotated[int, OneOf(engine.TILE_SIZES)] = 512
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, le=engine.DEFAULT_EXTENT[0] * engine.DEFAULT_EXTENT[1])
    turn_seconds: int | None = Field(None, ge=10, le=86400, description="Turn deadline; null for none.")
    max_members: int = Field(8, ge=1, le=32)


class Join(Body):
    invite_code: Text = Field(max_length=100)


@documented(
    "createRoom",
    "Create a room; the creator is its host and member 0.",
    tag="rooms",
    auth="signed_in",
    body=CreateRoom,
    answers={201: Answer("The new room's snapshot.", RoomReply)},
    errors=(403,),
)
async def create_room(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    body = await read_json(request, CreateRoom)
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await rooms.insert_room(
                conn,
                name=body.name,
                mode=RoomMode(body.mode),
                tile_size=body.tile_size,
                max_steps=body.max_steps,
                max_members=body.max_members,
                turn_seconds=body.turn_seconds,
                host_id=user.id,
                invite_code=secrets.token_urlsafe(9),
            )
            await rooms.insert_member(conn, room.id, user.id)
            event = await event_log.append_event(
                conn,
                room.id,
                EventKind.MEMBER_JOINED,
                {"user_id": user.id, "display_name": user.display_name, "position": 0},
            )
        snapshot = await _snapshot_for_member(conn, room, user.id)
    await services.publisher.publish_events(room.id, [event])
    return JSONResponse(RoomReply(room=snapshot), 201)


@documented(
    "listRooms",
    "The rooms I am in, then open rooms to watch.",
    tag="rooms",
    auth="signed_in",
    answers={200: Answer("Room summaries.", RoomList)},
)
async def list_rooms(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    async with services.db.acquire() as conn:
        mine = await rooms.rooms_of_user(conn, user.id)
        watchable = await rooms.open_rooms(conn, user.id)
        members = await rooms.members_of_rooms(conn, [room.id for room in mine + watchable])
    listed = [room_summary(room, members[room.id], True) for room in mine]
    listed += [room_summary(room, members[room.id], False) for room in watchable]
    return JSONResponse(RoomList(rooms=listed))


@documented(
    "getRoom",
    "A room's snapshot, as this user may see it (finished rooms are public).",
    tag="rooms",
    auth="optional",
    answers={200: Answer("The snapshot.", RoomSnapshot)},
    errors=(401, 404),
)
async def get_room(request: Request) -> Response:
    services = services_of(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    # One snapshot of the database, so the room's seq matches its tiles and members.
    async with services.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        room, viewer = await visible_room(conn, room_id, user)
        body = await room_snapshot(conn, room, viewer)
    return JSONResponse(body)


@documented(
    "joinRoom",
    "Join with the invite code; appended to the turn order.",
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
            if not hmac.compare_digest(body.invite_code.encode(), room.invite_code.encode()):
                if await rooms.is_member(conn, room.id, user.id):
                    raise Conflict("You are already in this room.", code="already_member")
                raise Forbidden("That invite code is not right for this room.", code="bad_invite_code")
            if await rooms.is_member(conn, room.id, user.id):
                raise Conflict("You are already in this room.", code="already_member")
            if room.status is RoomStatus.FINISHED:
                raise Conflict("This room has finished.", code="room_finished")
            if len(await rooms.room_members(conn, room.id)) >= room.max_members:
                raise Conflict("This room is full.", code="room_full")
            position = await rooms.insert_member(conn, room.id, user.id)
            event = await event_log.append_event(
                conn,
                room.id,
                EventKind.MEMBER_JOINED,
                {"user_id": user.id, "display_name": user.display_name, "position": position},
            )
        snapshot = await _snapshot_for_member(conn, room, user.id)
    await services.publisher.publish_events(room.id, [event])
    return JSONResponse(RoomReply(room=snapshot))


async def _snapshot_for_member(conn: Connection, room: Room, user_id: int) -> RoomSnapshot:
    """The room as it is after the caller's change, for the member who made it."""
    fresh = await rooms.room_by_id(conn, room.id)
    if fresh is None:
        raise RuntimeError(f"room {room.id} vanished")
    return await room_snapshot(conn, fresh, Viewer(user_id, True))


HostChange = Callable[[Connection, Room], Awaitable[list[Event]]]


async def _host_transition(request: Request, change: HostChange) -> Response:
    """Runs `change(conn, room)` for the host under the room lock; answers with the room."""
    services = services_of(request)
    user = await current_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await rooms.lock_room(conn, room_id)
            if room is None or not await rooms.is_member(conn, room.id, user.id):
                if room is not None and room.mode is RoomMode.OPEN:
                    raise Forbidden("Only the host can do that.", code="not_host")
                raise NotFound("No such room.")
            if room.host_id != user.id:
                raise Forbidden("Only the host can do that.", code="not_host")
            events = await change(conn, room)
        body = await _snapshot_for_member(conn, room, user.id)
    await services.publisher.publish_events(room.id, events)
    return JSONResponse(RoomReply(room=body))


def _host_only(operation_id: str, summary: str, answer: str) -> Callable[[Endpoint], Endpoint]:
    return documented(
        operation_id,
        summary,
        tag="rooms",
        auth="signed_in",
        answers={200: Answer(answer, RoomReply)},
        errors=(403, 404, 409),
    )


@_host_only("startRoom", "Host only: lobby to playing.", "The started room.")
async def start_room(request: Request) -> Response:
    async def start(conn: Connection, room: Room) -> list[Event]:
        if room.status is not RoomStatus.LOBBY:
            raise Conflict("The room has already started.", code="already_started")
        await rooms.set_status(conn, room, RoomStatus.PLAYING)
        started = await event_log.append_event(conn, room.id, EventKind.ROOM_STARTED, {})
        # From the lobby's turn 0, which has no player, the next turn is the first member's.
        return [started, await advance_turn(conn, room, EventKind.TURN_CHANGED)]

    return await _host_transition(request, start)


@_host_only("finishRoom", "Host only: playing to finished.", "The finished room.")
async def finish(request: Request) -> Response:
    async def end(conn: Connection, room: Room) -> list[Event]:
        if room.status is not RoomStatus.PLAYING:
            raise Conflict("The room is not playing.", code="room_not_playing")
        return [await finish_room(conn, room, "host")]

    return await _host_transition(request, end)


AFTER = {
    "name": "after",
    "in": "query",
    "required": False,
    "description": "Only events with a greater seq.",
    "schema": {"type": "integer", "minimum": 0, "maximum": 10**MAX_WHOLE_NUMBER_DIGITS - 1, "default": 0},
}


@documented(
    "roomEvents",
    "The room's events after a seq, oldest first.",
    tag="rooms",
    auth="optional",
    query=(AFTER,),
    answers={200: Answer("Events and the room's seq.", EventPage)},
    errors=(401, 404, 422),
)
async def room_events(request: Request) -> Response:
    services = services_of(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    after = whole_number(request.query_params.get("after", "0"), "after")
    async with services.db.acquire() as conn:
        room, viewer = await visible_room(conn, room_id, user)
        listed = await event_log.events_after(conn, room.id, after)
    return JSONResponse(EventPage(events=[event_json(event, room, viewer.user_id) for event in listed], seq=room.seq))


routes = [
    Route("/api/rooms", create_room, methods=["POST"]),
    Route("/api/rooms", list_rooms, methods=["GET"]),
    Route("/api/rooms/{room_id}", get_room, methods=["GET"]),
    Route("/api/rooms/{room_id}/join", join_room, methods=["POST"]),
    Route("/api/rooms/{room_id}/start", start_room, methods=["POST"]),
    Route("/api/rooms/{room_id}/finish", finish, methods=["POST"]),
    Route("/api/rooms/{room_id}/events", room_events, methods=["GET"]),
]
