"""`GET /ws/rooms/{id}?after=SEQ`: the live room over a websocket (docs/protocol.md)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.http.errors import error_frame, refusal_frame
from server.http.origin import from_our_origin
from server.http.sessions import SESSION_COOKIE, optional_user, token_hash
from server.http.steps import StepBody, check_idempotency_key, submit_step
from server.http.validation import parse_fields, parse_room_id, services_of, whole_number
from server.live.connection import SIGNED_OUT, TRY_LATER, Connection, receive_object
from server.live.presentation import present
from server.live.quotas import admitted, counted
from server.play.access import room_snapshot, visible_room
from server.play.publisher import frame
from server.play.views import event_json
from server.services import Services
from storage import AppError, Unavailable
from storage import events as event_log
from storage.accounts import User

__all__ = ["routes"]

log = logging.getLogger(__name__)

# Close codes before accepting are sent as an HTTP 403 by the server.
_POLICY = 1008


async def room_socket(websocket: WebSocket) -> None:
    services = services_of(websocket)
    settings = services.settings
    if not from_our_origin(websocket.headers, settings.public_url, not settings.production):
        await websocket.close(_POLICY)
        return
    try:
        user = await optional_user(services, websocket)
        if user is None:
            await websocket.close(_POLICY)
            return
        room_id = parse_room_id(websocket.path_params["room_id"])
        after = _after(websocket.query_params.get("after"))
        async with services.db.acquire() as conn:
            room, viewer = await visible_room(conn, room_id, user)
    except Unavailable as exc:
        # The database is out of reach: said in a frame, closed with "try again later".
        await websocket.accept()
        await websocket.send_text(refusal_frame(exc))
        await websocket.close(TRY_LATER)
        return
    except AppError:
        await websocket.close(_POLICY)
        return
    if not await admitted(websocket, services, user.id):
        return

    await websocket.accept()
    session = token_hash(settings.secret, websocket.cookies.get(SESSION_COOKIE, ""))
    connection = Connection(
        websocket,
        room_id=room.id,
        user_id=user.id,
        session=session,
        member=viewer.member,
        queue_size=settings.ws_send_queue,
    )
    hub = services.hub
    try:
        await hub.attach(connection, room)
        frames, seq = await _first_frames(services, room.id, user, after)
        connection.go_live(frames, seq)
        await hub.joined(connection)
        await _read(websocket, connection, services, user, room.id)
    except WebSocketDisconnect:
        pass
    except Unavailable as exc:
        log.warning("socket of user %s in room %s: %s", user.id, room.id, exc.message)
        await connection.refuse(refusal_frame(exc), TRY_LATER)
    finally:
        await hub.detach(connection)
        await connection.close(1000)


def _after(raw: str | None) -> int | None:
    return None if raw is None or raw == "" else whole_number(raw, "after")


async def _first_frames(services: Services, room_id: UUID, user: User, after: int | None) -> tuple[list[str], int]:
    """Exactly the missed events when they are retained and few enough; else a snapshot.

    One repeatable-read transaction, so the snapshot's tiles and its seq agree: an event
    committed meanwhile arrives live, after them, rather than half inside the snapshot.
    """
    async with services.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        room, viewer = await visible_room(conn, room_id, user)
        window = services.settings.ws_resume_window
        if after is not None and after <= room.seq and room.seq - after <= window:
            oldest = await event_log.oldest_seq(conn, room.id)
            if after == room.seq or (oldest is not None and oldest <= after + 1):
                missed = await event_log.events_after(conn, room.id, after, limit=window)
                frames = [frame({"type": "event", **event_json(e, room, user.id)}) for e in missed]
                return frames, missed[-1].seq if missed else after
        snapshot = await room_snapshot(conn, room, viewer)
    return [frame({"type": "snapshot", "room": snapshot})], snapshot["seq"]


async def _read(websocket: WebSocket, connection: Connection, services: Services, user: User, room_id: UUID) -> None:
    while True:
        message = await receive_object(websocket)
        if message is None:
            connection.offer(error_frame("malformed_json", "Frames are JSON objects in text frames."))
            continue
        kind = message.get("type")
        if kind == "ping":
            connection.offer('{"type":"pong"}')
        elif kind == "step.submit":
            # The session is asked again: a sign-out's close (4001) may still be on its way.
            current = await optional_user(services, websocket)
            if current is None or current.id != user.id:
                await connection.refuse(error_frame("not_signed_in", "Sign in again."), SIGNED_OUT)
                return
            connection.offer(await _submit(services, current, room_id, message))
        elif kind == "present":
            try:  # the host's shared reveal: every socket of the room hears it through the hub
                await services.limits.present_frames.hit(str(user.id))
                await present(services.db, services.bus, user, room_id, message)
            except AppError as exc:
                connection.offer(refusal_frame(exc))
        else:
            connection.offer(error_frame("unknown_type", "Unknown frame type."))


async def _submit(services: Services, user: User, room_id: UUID, message: dict[str, Any]) -> str:
    """The HTTP step route's rules and answers, over the socket."""
    try:
        key = check_idempotency_key(message.get("idempotency_key"))
        body = parse_fields(message, StepBody)
        step, replayed = await submit_step(services, room_id, user, key, body)
    except AppError as exc:
        return refusal_frame(exc)
    return frame({"type": "step.accepted", "status": 200 if replayed else 202, "step": step})


routes = [WebSocketRoute("/ws/rooms/{room_id}", counted(room_socket))]
