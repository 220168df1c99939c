"""The host's moves: start, finish, skip the current player, and play again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.answers import RoomReply
from server.http.documented import Answer, Endpoint, documented
from server.http.rooms import check_lobby_quota
from server.http.sessions import current_user
from server.http.validation import parse_room_id, services_of
from server.play.access import locked_room, member_snapshot
from server.play.rematch import rematch
from server.play.turns import advance_turn, finish_room, skip_turn
from server.services import Services
from storage import Conflict, Connection, Forbidden, NotFound, members, rooms, steps
from storage import events as event_log
from storage.accounts import User
from storage.events import Event, EventKind
from storage.rooms import Room, RoomMode, RoomStatus

__all__ = ["routes"]

HostMove = Callable[[Connection, Room], Awaitable[list[Event]]]


async def _locked_for_host(conn: Connection, room_id_raw: str, user: User) -> Room:
    """The room, locked, if the user is its host; a folded room is unknown to outsiders."""
    room = await locked_room(conn, parse_room_id(room_id_raw))
    if not await members.is_member(conn, room.id, user.id):
        if room.mode is RoomMode.OPEN or room.status is RoomStatus.FINISHED:
            raise Forbidden("Only the host can do that.", code="not_host")
        raise NotFound("No such room.")
    if room.host_id != user.id:
        raise Forbidden("Only the host can do that.", code="not_host")
    return room


async def _host_move(request: Request, move: HostMove) -> Response:
    """Runs `move(conn, room)` for the host under the room lock; answers with the room."""
    services: Services = services_of(request)
    user = await current_user(services, request)
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await _locked_for_host(conn, request.path_params["room_id"], user)
            events = await move(conn, room)
        snapshot = await member_snapshot(conn, room.id, user.id)
    await services.publisher.publish_events(room.id, events)
    return JSONResponse(RoomReply(room=snapshot))


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
    settings = services_of(request).settings

    async def start(conn: Connection, room: Room) -> list[Event]:
        if room.status is not RoomStatus.LOBBY:
            raise Conflict("The room has already started.", code="already_started")
        await rooms.set_status(conn, room, RoomStatus.PLAYING)
        started = await event_log.append_event(conn, room.id, EventKind.ROOM_STARTED, {})
        # From the lobby's turn 0, which has no player, the next turn is the first member's.
        return [started, *await advance_turn(conn, room, settings, EventKind.TURN_CHANGED)]

    return await _host_move(request, start)


@_host_only("finishRoom", "Host only, no step running: playing to finished.", "The finished room.")
async def finish(request: Request) -> Response:
    async def end(conn: Connection, room: Room) -> list[Event]:
        if room.status is not RoomStatus.PLAYING:
            raise Conflict("The room is not playing.", code="room_not_playing")
        # A step begins under this lock too, so none can start between this check and the finish.
        # Finishing under a painting step would refund a generation that ran to its end.
        if await steps.running_step(conn, room.id) is not None:
            raise Conflict("A step is being painted; finish once it is done.", code="step_in_flight")
        return [await finish_room(conn, room, "host")]

    return await _host_move(request, end)


@_host_only("skipTurn", "Host only, no step running: the current player's turn passes.", "The room, turn passed.")
async def skip(request: Request) -> Response:
    settings = services_of(request).settings

    async def pass_on(conn: Connection, room: Room) -> list[Event]:
        if room.status is not RoomStatus.PLAYING:
            raise Conflict("The room is not playing.", code="room_not_playing")
        if await steps.running_step(conn, room.id) is not None:
            raise Conflict("A step is being painted; skip once it is done.", code="step_in_flight")
        return await skip_turn(conn, room, settings, "host")

    return await _host_move(request, pass_on)


@documented(
    "rematchRoom",
    "Host only, finished room: a new lobby room with the same settings and members, in order.",
    tag="rooms",
    auth="signed_in",
    answers={201: Answer("The new room.", RoomReply)},
    errors=(403, 404, 409, 429),
)
async def rematch_room(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    await services.limits.rooms_created.hit(str(user.id))  # a rematch is a new room too
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await _locked_for_host(conn, request.path_params["room_id"], user)
            await check_lobby_quota(conn, user, services.settings)
            new, joined, announced = await rematch(conn, room)
        snapshot = await member_snapshot(conn, new.id, user.id)
    await services.publisher.publish_events(new.id, joined)
    await services.publisher.publish_events(room.id, [announced])
    return JSONResponse(RoomReply(room=snapshot), 201)


routes = [
    Route("/api/rooms/{room_id}/start", start_room, methods=["POST"]),
    Route("/api/rooms/{room_id}/finish", finish, methods=["POST"]),
    Route("/api/rooms/{room_id}/skip", skip, methods=["POST"]),
    Route("/api/rooms/{room_id}/rematch", rematch_room, methods=["POST"]),
]
