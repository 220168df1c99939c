"""Room routes: create, list, view, join, start, finish, the event log and the pictures."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import engine
from server import logs
from server.services import Services
from server.sessions import current_user, optional_user
from server.steps import load_neighbours
from server.turns import advance_turn, finish_room
from server.validation import Body, Text, parse_fields, read_json, whole_number
from server.views import Viewer, event_json, hides_tiles, room_json
from storage import Conflict, Forbidden, NotFound, NotSignedIn
from storage import events as event_log
from storage import is_blob_key, rooms, steps
from storage.accounts import User
from storage.events import EventKind
from storage.rooms import Room, RoomMode, RoomStatus

__all__ = ["routes", "visible_room", "locked_room", "parse_room_id", "png_response"]

DEFAULT_MAX_STEPS = 16


class CreateRoom(Body):
    name: Text
    mode: Literal["open", "folded"]
    tile_size: int = 512
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, le=engine.DEFAULT_EXTENT[0] * engine.DEFAULT_EXTENT[1])
    turn_seconds: int | None = Field(None, ge=10, le=86400)
    max_members: int = Field(8, ge=1, le=32)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        value = value.strip()
        if not 1 <= len(value) <= 80 or not value.isprintable():
            raise ValueError("must be 1 to 80 printable characters")
        return value

    @field_validator("tile_size")
    @classmethod
    def _check_tile_size(cls, value: int) -> int:
        if value not in engine.TILE_SIZES:
            raise ValueError(f"must be one of {', '.join(map(str, engine.TILE_SIZES))}")
        return value


class Join(Body):
    invite_code: Text = Field(max_length=100)


class ContextQuery(Body):
    direction: Literal["left", "right", "up", "down"]


def _services(request: Request) -> Services:
    return request.app.state.services


def parse_room_id(raw: str) -> UUID:
    try:
        room_id = UUID(raw)
    except ValueError:
        raise NotFound("No such room.") from None
    logs.room_id.set(str(room_id))
    return room_id


async def locked_room(conn, room_id: UUID) -> Room:
    """The room, locked for the caller's transaction; an unknown room is a 404."""
    room = await rooms.lock_room(conn, room_id)
    if room is None:
        raise NotFound("No such room.")
    return room


async def visible_room(conn, room_id: UUID, user: User | None) -> tuple[Room, Viewer]:
    """The room and how this user sees it: members and (in open rooms) signed-in spectators;
    finished rooms are public. Rooms the user may not see do not exist for them."""
    room = await rooms.room_by_id(conn, room_id)
    if room is None:
        raise NotFound("No such room.")
    member = user is not None and await rooms.is_member(conn, room.id, user.id)
    viewer = Viewer(user.id if user else None, member)
    if member or room.status is RoomStatus.FINISHED:
        return room, viewer
    if user is None:
        raise NotSignedIn("Sign in first.")
    if room.mode is RoomMode.OPEN:
        return room, viewer
    raise NotFound("No such room.")


async def room_body(conn, room: Room, viewer: Viewer) -> dict:
    members = await rooms.room_members(conn, room.id)
    tiles = await steps.room_tiles(conn, room.id)
    running = await steps.running_step(conn, room.id)
    return room_json(room, members, tiles, running, viewer)


async def create_room(request: Request) -> Response:
    services = _services(request)
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
                conn, room.id, EventKind.MEMBER_JOINED,
                {"user_id": user.id, "display_name": user.display_name, "position": 0},
            )
        room = await rooms.room_by_id(conn, room.id)
        body = await room_body(conn, room, Viewer(user.id, True))
    await services.hub.publish_events(room.id, [event])
    return JSONResponse({"room": body}, 201)


async def list_rooms(request: Request) -> Response:
    services = _services(request)
    user = await current_user(services, request)
    async with services.db.acquire() as conn:
        mine = await rooms.rooms_of_user(conn, user.id)
        watchable = await rooms.open_rooms(conn, user.id)
        members = await rooms.members_of_rooms(conn, [room.id for room in mine + watchable])
    listed = [_summary(room, members[room.id], True) for room in mine]
    listed += [_summary(room, members[room.id], False) for room in watchable]
    return JSONResponse({"rooms": listed})


def _summary(room: Room, members: list, member: bool) -> dict:
    names = {m.user_id: m.display_name for m in members}
    playing = room.status is RoomStatus.PLAYING
    return {
        "id": str(room.id),
        "name": room.name,
        "mode": room.mode.value,
        "status": room.status.value,
        "host_id": room.host_id,
        "member": member,
        "member_count": len(members),
        "tile_count": room.tile_count,
        "max_steps": room.max_steps,
        "turn": {
            "number": room.turn.number,
            "player_id": room.turn.player_id,
            "player_name": names.get(room.turn.player_id),
        } if playing else None,
        "seq": room.seq,
        "created_at": room.created_at.isoformat(),
    }


async def get_room(request: Request) -> Response:
    services = _services(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    # One snapshot of the database, so the room's seq matches its tiles and members.
    async with services.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        room, viewer = await visible_room(conn, room_id, user)
        body = await room_body(conn, room, viewer)
    return JSONResponse(body)


async def join_room(request: Request) -> Response:
    services = _services(request)
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
                conn, room.id, EventKind.MEMBER_JOINED,
                {"user_id": user.id, "display_name": user.display_name, "position": position},
            )
        room = await rooms.room_by_id(conn, room.id)
        body = await room_body(conn, room, Viewer(user.id, True))
    await services.hub.publish_events(room.id, [event])
    return JSONResponse({"room": body})


async def _host_transition(request: Request, change) -> Response:
    """Runs `change(conn, room)` for the host under the room lock; answers with the room."""
    services = _services(request)
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
        room = await rooms.room_by_id(conn, room.id)
        body = await room_body(conn, room, Viewer(user.id, True))
    await services.hub.publish_events(room.id, events)
    return JSONResponse({"room": body})


async def start_room(request: Request) -> Response:
    async def start(conn, room: Room):
        if room.status is not RoomStatus.LOBBY:
            raise Conflict("The room has already started.", code="already_started")
        await rooms.set_status(conn, room, RoomStatus.PLAYING)
        started = await event_log.append_event(conn, room.id, EventKind.ROOM_STARTED, {})
        # From the lobby's turn 0, which has no player, the next turn is the first member's.
        return [started, await advance_turn(conn, room, EventKind.TURN_CHANGED)]

    return await _host_transition(request, start)


async def finish(request: Request) -> Response:
    async def end(conn, room: Room):
        if room.status is not RoomStatus.PLAYING:
            raise Conflict("The room is not playing.", code="room_not_playing")
        return [await finish_room(conn, room, "host")]

    return await _host_transition(request, end)


async def room_events(request: Request) -> Response:
    services = _services(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    after = whole_number(request.query_params.get("after", "0"), "after")
    async with services.db.acquire() as conn:
        room, viewer = await visible_room(conn, room_id, user)
        listed = await event_log.events_after(conn, room.id, after)
    return JSONResponse(
        {"events": [event_json(event, room, viewer.user_id) for event in listed], "seq": room.seq}
    )


def png_response(data: bytes, *, etag: str | None = None, immutable: bool = False) -> Response:
    headers = {"Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
    if etag:
        headers["ETag"] = etag
    return Response(data, media_type="image/png", headers=headers)


async def canvas_png(request: Request) -> Response:
    services = _services(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    async with services.db.acquire() as conn:
        room, _ = await visible_room(conn, room_id, user)
        if hides_tiles(room):
            raise Forbidden("A folded room is revealed when it finishes.", code="not_revealed")
        tiles = await steps.room_tiles(conn, room.id)
    etag = f'"{room.id}-{len(tiles)}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    pixels = await asyncio.gather(*(services.tiles.get(tile.sha256) for tile in tiles))
    decoded = {(tile.x, tile.y): tile_pixels for tile, tile_pixels in zip(tiles, pixels, strict=True)}
    data = await asyncio.to_thread(_composite_png, decoded, room.tile_size)
    return png_response(data, etag=etag)


def _composite_png(decoded: dict, tile_size: int) -> bytes:
    image, _ = engine.composite(decoded, tile_size)
    return engine.encode_png(image)


async def context_png(request: Request) -> Response:
    services = _services(request)
    user = await current_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    async with services.db.acquire() as conn:
        room, _ = await visible_room(conn, room_id, user)
        query = parse_fields(dict(request.query_params), ContextQuery)
        if room.status is not RoomStatus.PLAYING:
            raise Conflict("The room is not playing.", code="room_not_playing")
        if room.turn.player_id != user.id:
            raise Forbidden("Only the player whose turn it is sees the context.", code="not_your_turn")
        path = [(tile.x, tile.y) for tile in await steps.room_tiles(conn, room.id)]
    try:
        cell = engine.target_cell(path, engine.Direction(query.direction), room.extent)
    except engine.CellUnavailable as exc:
        raise Conflict("That direction has no free cell.", code="cell_unavailable") from exc
    neighbours = await load_neighbours(services, room.id, cell)
    context = await asyncio.to_thread(engine.build_context, neighbours, cell, room.tile_size)
    return png_response(await asyncio.to_thread(engine.encode_png, context))


async def blob(request: Request) -> Response:
    name = request.path_params["name"]
    key = name.removesuffix(".png")
    if not name.endswith(".png") or not is_blob_key(key):
        raise NotFound("No such blob.")
    etag = f'"{key}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    data = await _services(request).blobs.get(key)
    if data is None:
        raise NotFound("No such blob.")
    return png_response(data, etag=etag, immutable=True)


routes = [
    Route("/api/rooms", create_room, methods=["POST"]),
    Route("/api/rooms", list_rooms, methods=["GET"]),
    Route("/api/rooms/{room_id}", get_room, methods=["GET"]),
    Route("/api/rooms/{room_id}/join", join_room, methods=["POST"]),
    Route("/api/rooms/{room_id}/start", start_room, methods=["POST"]),
    Route("/api/rooms/{room_id}/finish", finish, methods=["POST"]),
    Route("/api/rooms/{room_id}/events", room_events, methods=["GET"]),
    Route("/api/rooms/{room_id}/canvas.png", canvas_png, methods=["GET"]),
    Route("/api/rooms/{room_id}/context.png", context_png, methods=["GET"]),
    Route("/blobs/{name}", blob, methods=["GET"]),
]
