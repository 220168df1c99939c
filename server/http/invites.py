"""`GET /api/invites/{code}`: what an invite link opens, for the join page to show before sign-up."""

from __future__ import annotations

from typing import cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.answers import InvitePreview
from server.http.documented import Answer, documented
from server.http.validation import services_of
from server.play.shapes import RoomStatusName
from storage import Conflict, NotFound, accounts, members, rooms
from storage.rooms import RoomStatus

__all__ = ["routes"]


@documented(
    "inviteInfo",
    "The room an invite code opens: readable signed out (`409 room_finished` once it is over).",
    tag="rooms",
    auth="public",
    answers={200: Answer("The room's name, host and members.", InvitePreview)},
    errors=(404, 409),
)
async def invite_info(request: Request) -> Response:
    code = request.path_params["code"]
    services = services_of(request)
    async with services.db.acquire() as conn:
        room = None if len(code) > 100 else await rooms.room_by_invite(conn, code)
        if room is None:
            raise NotFound("No room has that invite code.")
        if room.status is RoomStatus.FINISHED:
            raise Conflict("This room has finished.", code="room_finished")
        order = await members.room_members(conn, room.id)
        host = await accounts.user_by_id(conn, room.host_id)
    preview: InvitePreview = {
        "room_id": str(room.id),
        "name": room.name,
        "mode": room.mode.value,
        "status": cast(RoomStatusName, room.status.value),
        "host_name": host.display_name if host else "",
        "member_count": len(order),
    }
    return JSONResponse(preview)


routes = [Route("/api/invites/{code}", invite_info, methods=["GET"])]
