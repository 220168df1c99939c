"""Pictures made from a room's tiles for showing and sharing: the animated timelapse of a round
and each tile's WebP display copy (server/play/renders.py makes and keeps them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from server.http.documented import Answer, documented
from server.http.sessions import optional_user
from server.http.validation import Body, parse_fields, parse_room_id, services_of
from server.play import renders
from server.play.access import visible_room
from server.play.views import hides_tiles
from storage import Conflict, Forbidden, NotFound, is_blob_key, members, steps

__all__ = ["routes"]

ETAG = {"ETag": {"schema": {"type": "string"}}}
NOT_MODIFIED = Answer("Unchanged since the `If-None-Match` ETag.", media_type=None, headers=ETAG)
IMMUTABLE = "public, max-age=31536000, immutable"


class DisplayCopyQuery(Body):
    w: Literal["128", "256", "512", "1024"] | None = Field(
        None, description="The copy's width in pixels (never above the tile's own); the tile's size when absent."
    )


def _picture(made: renders.Picture, media_type: str, headers: dict[str, str]) -> Response:
    if isinstance(made, bytes):
        return Response(made, media_type=media_type, headers=headers)
    return StreamingResponse(made, media_type=media_type, headers=headers)


@documented(
    "timelapse",
    "The round so far as an animated WebP, one frame per tile in the order they were painted, each"
    " captioned with its author and prompt (a folded room only once finished: `403 not_revealed`).",
    tag="pictures",
    auth="optional",
    answers={200: Answer("The animation.", media_type="image/webp", headers=ETAG), 304: NOT_MODIFIED},
    errors=(401, 403, 404, 409),
)
async def timelapse_webp(request: Request) -> Response:
    services = services_of(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    async with services.db.acquire() as conn:
        room, _ = await visible_room(conn, room_id, user)
        if hides_tiles(room):
            raise Forbidden("A folded room is revealed when it finishes.", code="not_revealed")
        tiles = await steps.room_tiles(conn, room.id)
        names = {m.user_id: m.display_name for m in await members.all_members(conn, room.id)}
    if not tiles:
        raise Conflict("Nothing has been painted yet.", code="no_tiles")
    # Tiles are immutable and only ever appended, so the count names the animation.
    etag = f'"{room.id}-{len(tiles)}-timelapse"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    made = await renders.room_timelapse(
        services.db, services.blobs, room.id, room.tile_size, tiles, names, slots=services.settings.canvas_renders
    )
    headers = {"Cache-Control": "no-cache", "ETag": etag}
    return _picture(made, "image/webp", headers)


@documented(
    "tile_display_copy",
    "A tile as WebP, for display: a fraction of the PNG's bytes, at the width the screen needs; the"
    " PNG stays the canonical tile.",
    tag="pictures",
    auth="public",
    path="/blobs/{sha256}.webp",
    query=DisplayCopyQuery,
    answers={200: Answer("The tile.", media_type="image/webp", headers=ETAG), 304: NOT_MODIFIED},
    errors=(404, 422),
)
async def display_copy(request: Request) -> Response:
    key = request.path_params["sha256"]
    if not is_blob_key(key):
        raise NotFound("No such blob.")
    query = parse_fields(dict(request.query_params), DisplayCopyQuery)
    width = None if query.w is None else int(query.w)
    etag = f'"{key}-{width or "full"}-webp"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    services = services_of(request)
    made = await renders.display_copy(services.db, services.blobs, key, width, slots=services.settings.canvas_renders)
    if made is None:
        raise NotFound("No such blob.")
    return _picture(made, "image/webp", {"Cache-Control": IMMUTABLE, "ETag": etag})


routes = [
    Route("/api/rooms/{room_id}/timelapse.webp", timelapse_webp, methods=["GET"]),
    Route("/blobs/{sha256}.webp", display_copy, methods=["GET"]),
]
