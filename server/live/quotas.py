"""Live sockets per user and per client address (`too_many_connections`, DESIGN.md section 7).

A socket route is wrapped in `counted(...)`, and calls `admitted(...)` once it knows who is
asking, just before it accepts: over either count, the handshake is refused with `429`, the
error envelope and `Retry-After` (the `websocket.http.response` denial), which the page's backoff
waits out. The places taken are released when the route returns, however it ends, by the wrapper.

uvicorn's default websockets-sansio protocol logs "ASGI callable returned without completing
handshake." at ERROR after every denial (Kludex/uvicorn#3138); a flood of refusals would be a
flood of false alarms, so that one line is dropped for the sockets refused here, and only for
them (a context variable set in the socket's own task marks them).
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket

from server.http.addresses import client_address
from server.http.errors import error_response
from server.http.ratelimit import QuotaExceeded, give_back, take_places
from server.services import Services

__all__ = ["counted", "admitted"]

_PLACES = "exquisite.socket_places"
_REFUSED = contextvars.ContextVar("exquisite_socket_refused", default=False)
Endpoint = Callable[[WebSocket], Awaitable[None]]


def counted(endpoint: Endpoint) -> Endpoint:
    """The socket route, with whatever places `admitted` took released when it returns."""

    @functools.wraps(endpoint)
    async def route(websocket: WebSocket) -> None:
        taken: list = []
        websocket.scope[_PLACES] = taken
        try:
            await endpoint(websocket)
        finally:
            await give_back(taken)

    return route


async def admitted(websocket: WebSocket, services: Services, user_id: int) -> bool:
    """Takes this socket's places; False after refusing the socket when either is full."""
    limits = services.limits
    places = [(limits.sockets_by_user, str(user_id)), (limits.sockets_by_address, client_address(websocket.scope))]
    try:
        websocket.scope[_PLACES] += await take_places(places)
    except QuotaExceeded as exc:
        _REFUSED.set(True)
        await websocket.send_denial_response(error_response(exc))
        return False
    return True


class _DeniedHandshakeNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_REFUSED.get() and record.getMessage() == "ASGI callable returned without completing handshake.")


_uvicorn_errors = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _DeniedHandshakeNoise) for f in _uvicorn_errors.filters):
    _uvicorn_errors.addFilter(_DeniedHandshakeNoise())
