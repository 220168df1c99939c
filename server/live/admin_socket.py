"""`/ws/admin`: the dashboard's live feed, an overview frame every second, for admins only."""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.http.admin import overview
from server.http.errors import error_frame, refusal_frame
from server.http.origin import from_our_origin
from server.http.sessions import optional_user
from server.http.validation import services_of
from server.live.connection import TRY_LATER, receive_object
from server.live.quotas import admitted, counted
from server.services import Services
from storage import Unavailable

__all__ = ["routes", "PERIOD_SECONDS"]

log = logging.getLogger(__name__)

PERIOD_SECONDS = 1.0


async def admin_socket(websocket: WebSocket) -> None:
    services = services_of(websocket)
    settings = services.settings
    try:
        user = await optional_user(services, websocket)
    except Unavailable as exc:
        await websocket.accept()
        await websocket.send_text(refusal_frame(exc))
        await websocket.close(TRY_LATER)
        return
    ours = from_our_origin(websocket.headers, settings.public_url, not settings.production)
    if not ours or user is None or not user.is_admin:
        await websocket.close(1008)
        return
    if not await admitted(websocket, services, user.id):
        return
    await websocket.accept()
    sender = asyncio.create_task(_send_overviews(websocket, services))
    try:
        while True:
            message = await receive_object(websocket)
            if message is not None and message.get("type") == "ping":
                await websocket.send_text('{"type":"pong"}')
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


async def _send_overviews(websocket: WebSocket, services: Services) -> None:
    while True:
        try:
            text = json.dumps(await overview(services), separators=(",", ":"), default=str)
        except Unavailable as exc:
            text = refusal_frame(exc)  # the database is out of reach: said, not traced
        except Exception:
            log.exception("building the admin overview failed")
            text = error_frame("internal", "The overview could not be built.")
        await websocket.send_text(text)
        await asyncio.sleep(PERIOD_SECONDS)


routes = [WebSocketRoute("/ws/admin", counted(admin_socket))]
