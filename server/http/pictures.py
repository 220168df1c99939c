"""The pictures: a room's composite canvas, the context a player continues, and tile blobs."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

import engine
from server.http.documented import Answer, documented, png
from server.http.sessions import current_user, optional_user
from server.http.validation import Body, parse_fields, parse_room_id, services_of
from server.play import canvas
from server.play.access import visible_room
from server.play.shapes import DirectionName
from server.play.tiles import load_neighbours
from server.play.views import hides_tiles
from storage import Conflict, Forbidden, NotFound, is_blob_key, steps
from storage.rooms import RoomStatus

__all__ = ["routes", "ContextQuery", "CanvasQuery"]


class ContextQuery(Body):
    direction: DirectionName


def _canvas_side(value: object) -> object:
    # Query values are text: "full", or digits within the bounds (a clear refusal for the rest).
    if value == "full" or isinstance(value, int):
        return value
    digits = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5
    if digits and CANVAS_SIDES[0] <= int(str(value)) <= CANVAS_SIDES[1]:
        return int(str(value))
    raise ValueError(f'must be "full" or a whole number of pixels from {CANVAS_SIDES[0]} to {CANVAS_SIDES[1]}')


# The smallest canvas side one may ask for, and the largest any room has (8 tiles of 1024).
CANVAS_SIDES = (256, 8192)


class CanvasQuery(Body):
    max: Annotated[
        Literal["full"] | Annotated[int, Field(ge=CANVAS_SIDES[0], le=CANVAS_SIDES[1])],
        BeforeValidator(_canvas_side),
        Field(description="The canvas's longest side in pixels (tiles are scaled down, never up), or `full`."),
    ] = canvas.DEFAULT_MAX_SIDE


def png_response(data: bytes, *, etag: str | None = None, immutable: bool = False) -> Response:
    headers = {"Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
    if etag:
        headers["ETag"] = etag
    return Response(data, media_type="image/png", headers=headers)


ETAG = {"ETag": {"schema": {"type": "string"}}}
NOT_MODIFIED = Answer("Unchanged since the `If-None-Match` ETag.", media_type=None, headers=ETAG)


@documented(
    "canvas",
    "The composite canvas (a folded room only once finished: `403 not_revealed`), its longer side"
    " at most `max` pixels (`full`: every tile at its own size). A finished room's is rendered once"
    " per size and kept.",
    tag="pictures",
    auth="optional",
    query=CanvasQuery,
    answers={200: png("The canvas.", ETAG), 304: NOT_MODIFIED},
    errors=(401, 403, 404, 422),
)
async def canvas_png(request: Request) -> Response:
    services = services_of(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    query = parse_fields(dict(request.query_params), CanvasQuery)
    async with services.db.acquire() as conn:
        room, _ = await visible_room(conn, room_id, user)
        if hides_tiles(room):
            raise Forbidden("A folded room is revealed when it finishes.", code="not_revealed")
        tiles = await steps.room_tiles(conn, room.id)
    plan = canvas.layout(tiles, room.tile_size, None if query.max == "full" else query.max)
    etag = f'"{room.id}-{len(tiles)}-{plan.side}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    made = await canvas.picture(
        services.db, services.blobs, room, tiles, plan, renders=services.settings.canvas_renders
    )
    if isinstance(made, bytes):
        return png_response(made, etag=etag)
    return StreamingResponse(made, media_type="image/png", headers={"Cache-Control": "no-cache", "ETag": etag})


@documented(
    "context",
    "The context window the generator would see; only for the player whose turn it is. In a folded"
    " room still playing, only the T/4-deep strip of the frontier tile that borders the target cell"
    " is opaque in it.",
    tag="pictures",
    auth="signed_in",
    query=ContextQuery,
    answers={200: png("The 2T x 2T context, transparent where it will be painted.")},
    errors=(403, 404, 409, 422),
)
async def context_png(request: Request) -> Response:
    services = services_of(request)
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
    direction = engine.Direction(query.direction)
    try:
        cell = engine.target_cell(path, direction, room.extent)
    except engine.CellUnavailable as exc:
        raise Conflict("That direction has no free cell.", code="cell_unavailable") from exc
    neighbours = await load_neighbours(services.db, services.tiles, room.id, cell, room.tile_size)
    if hides_tiles(room) and path:
        # Folded: only the edge being continued, the frontier tile's strip next to the target.
        dx, dy = direction.delta
        edge = neighbours[(cell[0] - dx, cell[1] - dy)]
        context = await asyncio.to_thread(engine.edge_window, edge, direction, room.tile_size)
    else:
        context = await asyncio.to_thread(engine.build_context, neighbours, cell, room.tile_size)
    return png_response(await asyncio.to_thread(engine.encode_png, context))


@documented(
    "blob",
    "A tile's bytes, content-addressed and immutable.",
    tag="pictures",
    auth="public",
    path="/blobs/{sha256}.png",
    answers={200: png("The tile.", ETAG), 304: NOT_MODIFIED},
    errors=(404,),
)
async def blob(request: Request) -> Response:
    name = request.path_params["name"]
    key = name.removesuffix(".png")
    if not name.endswith(".png") or not is_blob_key(key):
        raise NotFound("No such blob.")
    etag = f'"{key}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    data = await services_of(request).blobs.get(key)
    if data is None:
        raise NotFound("No such blob.")
    return png_response(data, etag=etag, immutable=True)


routes = [
    Route("/api/rooms/{room_id}/canvas.png", canvas_png, methods=["GET"]),
    Route("/api/rooms/{room_id}/context.png", context_png, methods=["GET"]),
    Route("/blobs/{name}", blob, methods=["GET"]),
]
