"""The Starlette application: routes, middleware, error handlers, and the lifespan that opens
every resource (server/lifespan.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from engine import Generator
from server.http import openapi, pages
from server.http.addresses import ForwardedFor
from server.http.api import API_ROUTES
from server.http.errors import EXCEPTION_HANDLERS
from server.http.middleware import RequestContext, SecurityHeaders
from server.http.origin import OriginGuard
from server.lifespan import open_services
from server.live import admin_socket, room_socket
from server.metrics import Metrics
from server.settings import Settings

__all__ = ["create_app", "Exquisite"]

COMPRESSED_TYPES = ("text/event-stream", "image/png", "image/webp", "image/jpeg", "application/octet-stream")


class Exquisite(Starlette):
    """Starlette, except that websocket handshakes go straight to the socket routes behind the
    proxy-address middleware. Every other middleware passes a socket through untouched, yet each
    would keep a suspended frame (and the exception middleware a closure or two) for as long as
    the socket lives: about 2 KiB per idle socket (bench/idle_sockets.py)."""

    def __init__(self, *, socket_routes: Sequence[BaseRoute], trusted_proxy_hops: int, **options: Any) -> None:
        super().__init__(**options)
        self._sockets: ASGIApp = ForwardedFor(Router(routes=list(socket_routes)), hops=trusted_proxy_hops)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await self._sockets(scope, receive, send)


def create_app(settings: Settings | None = None, *, generator: Generator | None = None) -> Starlette:
    """The app for these settings (else the environment's); `generator` replaces the configured one."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings, metrics, generator) as services:
            app.state.services = services
            yield

    socket_routes = [*room_socket.routes, *admin_socket.routes]
    routes = [*pages.routes, *API_ROUTES, *openapi.routes, *socket_routes]
    middleware = [
        Middleware(ForwardedFor, hops=settings.trusted_proxy_hops),
        # Text (pages, scripts, styles, JSON) compressed; pictures already are.
        Middleware(GZipMiddleware, minimum_size=1024, exclude_content_types=COMPRESSED_TYPES),
        Middleware(SecurityHeaders, production=settings.production),
        Middleware(RequestContext, metrics=metrics),
        Middleware(OriginGuard, public_url=settings.public_url, development=not settings.production),
    ]
    return Exquisite(
        socket_routes=socket_routes,
        trusted_proxy_hops=settings.trusted_proxy_hops,
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
