"""Room routes: create, list, view, and the event log. Joining and leaving are in membership.py,
the host's moves in hosting.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import engine
from server.http.answers import CreatedRoom, EventPage, RoomList
from server.http.documented import Answer, documented
from server.http.ratelimit import QuotaExceeded
from server.http.sessions import current_user, optional_user
from server.http.validation import (
    MAX_WHOLE_NUMBER_DIGITS,
    Body,
    OneOf,
    PrintableLine,
    parse_room_id,
    read_json,
    services_of,
    whole_number,
)
from server.play.access import member_snapshot, room_snapshot, visible_room
from server.play.rematch import new_invite_code
from server.play.shapes import RoomModeName, RoomSnapshot
from server.play.views import event_json, room_summary
from server.settings import Settings
from storage import Connection, InvalidField, accounts, listings, members, rooms
from storage import events as event_log
from storage.accounts import User
from storage.events import EventKind
from storage.rooms import RoomMode

__all__ = ["routes", "CreateRoom", "check_lobby_quota"]

DEFAULT_MAX_STEPS = 16
LOBBY_RETRY_AFTER = 60
WATCH_PAGE = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WATCH_CURSOR = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "The `next_cursor` of the previous page: the next open rooms to watch.",
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}_[0-9a-f-]{36}$"},
}


class CreateRoom(Body):
    name: Annotated[PrintableLine, Field(min_length=1, max_length=80)]
    mode: RoomModeName
    tile_size: Annotated[int, OneOf(engine.TILE_SIZES)] = 512
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, le=engine.DEFAULT_EXTENT[0] * engine.DEFAULT_EXTENT[1])
    turn_seconds: int | None = Field(None, ge=10, le=86400, description="Turn deadline; null for none.")
    max_members: int = Field(8, ge=1, le=32)


@documented(
    "createRoom",
    "Create a room; the creator is its host and member 0.",
    tag="rooms",
    auth="signed_in",
    body=CreateRoom,
    answers={201: Answer("The new room's snapshot, and a warning if its players cannot pay for it.", CreatedRoom)},
    errors=(403, 429),
)
async def create_room(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    body = await read_json(request, CreateRoom)
    await services.limits.rooms_created.hit(str(user.id))
    async with services.db.acquire() as conn:
        async with conn.transaction():
            await check_lobby_quota(conn, user, services.settings)
            room = await rooms.insert_room(
                conn,
                name=body.name,
                mode=RoomMode(body.mode),
                tile_size=body.tile_size,
                max_steps=body.max_steps,
                max_members=body.max_members,
                turn_seconds=body.turn_seconds,
                host_id=user.id,
                invite_code=new_invite_code(),
            )
            await members.insert_member(conn, room.id, user.id)
            event = await event_log.append_event(
                conn,
                room.id,
                EventKind.MEMBER_JOINED,
                {"user_id": user.id, "display_name": user.display_name, "position": 0},
            )
        snapshot = await member_snapshot(conn, room.id, user.id)
    await services.publisher.publish_events(room.id, [event])
    return JSONResponse(CreatedRoom(room=snapshot, warning=_affordability(body, user, services.settings)), 201)


async def check_lobby_quota(conn: Connection, user: User, settings: Settings) -> None:
    """At most LOBBY_ROOMS_PER_USER rooms of a host wait in the lobby, where invites find them."""
    if await accounts.lobby_rooms_hosted(conn, user.id) >= settings.lobby_rooms_per_user:
        message = f"You already have {settings.lobby_rooms_per_user} rooms in the lobby; start or leave one first."
        raise QuotaExceeded(message, code="too_many_rooms", retry_after=LOBBY_RETRY_AFTER)


def _affordability(body: CreateRoom, host: User, settings: Settings) -> str | None:
    """A warning when the room asks for more steps than its members can pay for now."""
    affordable = host.credits // settings.step_cost
    if body.max_steps <= affordable:
        return None
    return (
        f"This room has {body.max_steps} tiles, and its players can pay for {affordable} now;"
        f" everyone gets up to {settings.daily_credits} free credits a day, and the game can end early."
    )


@documented(
    "listRooms",
    "The rooms I am in (active first), then open rooms being played now, a page at a time.",
    tag="rooms",
    auth="signed_in",
    query=(WATCH_CURSOR,),
    answers={200: Answer("Room summaries.", RoomList)},
    errors=(422,),
)
async def list_rooms(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    raw = request.query_params.get("cursor")
    after = None if raw is None else parse_watch_cursor(raw)
    async with services.db.acquire() as conn:
        mine = [] if after else await listings.rooms_of_user(conn, user.id)
        page = await listings.watchable_rooms(conn, user.id, after, WATCH_PAGE + 1)
        watchable = [room for room, _ in page[:WATCH_PAGE]]
        order = await members.members_of_rooms(conn, [room.id for room in mine + watchable])
    listed = [room_summary(room, order[room.id], True) for room in mine]
    listed += [room_summary(room, order[room.id], False) for room in watchable]
    following = watch_cursor(*page[WATCH_PAGE - 1]) if len(page) > WATCH_PAGE else None
    return JSONResponse(RoomList(rooms=listed, next_cursor=following))


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


def watch_cursor(room: rooms.Room, activity: datetime) -> str:
    """Where the next page of rooms to watch begins: the last one's activity and id."""
    micros = (activity - EPOCH) // timedelta(microseconds=1)
    return f"{micros}_{room.id}"


def parse_watch_cursor(raw: str) -> tuple[datetime, UUID]:
    micros, _, room_id = raw.partition("_")
    try:
        moment = EPOCH + timedelta(microseconds=whole_number(micros, "cursor"))
        return moment, UUID(room_id)
    except (InvalidField, ValueError, OverflowError, OSError):
        raise InvalidField("cursor", "must be a next_cursor this route gave") from None


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
    Route("/api/rooms/{room_id}/events", room_events, methods=["GET"]),
]
