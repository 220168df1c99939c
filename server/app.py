"""The Starlette application: routes, middleware and the lifespan that owns every resource."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine import make_generator
from server import admin, admin_socket, auth, health, openapi, rooms, steps_http, ws
from server.coordinator import Coordinator
from server.envelope import EXCEPTION_HANDLERS
from server.hub import Hub
from server.metrics import Metrics
from server.middleware import OriginGuard, RequestContext, SecurityHeaders
from server.ratelimit import RateLimiter
from server.recovery import Reaper
from server.services import Services
from server.settings import Settings
from server.tile_cache import TileCache
from storage import Database, EmbeddedPostgres, database, open_blob_store, open_bus

__all__ = ["create_app", "CLIENT_DIR"]

log = logging.getLogger(__name__)

CLIENT_DIR = Path(__file__).resolve().parent.parent / "client"


async def open_database(settings: Settings, stack: AsyncExitStack) -> Database:
    """The pool, on DATABASE_URL or on an embedded server that stops with the stack; migrated."""
    dsn = settings.database_url
    if not dsn:
        embedded = EmbeddedPostgres(settings.data_dir / "pg")
        dsn = await asyncio.to_thread(embedded.start)
        stack.callback(embedded.stop)
    db = await stack.enter_async_context(
        Database(dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    )
    async with db.acquire() as conn:
        version = await database.migrate(conn)
    log.info("database ready at schema version %s", version)
    return db


def make_generator_for(settings: Settings):
    return make_generator(
        settings.generator,
        openai_api_key=settings.openai_api_key,
        openai_model=settings.openai_model,
        openai_base_url=settings.openai_base_url,
        timeout=settings.generator_timeout_seconds,
        mock_delay_ms=settings.mock_delay_ms,
        mock_fail_rate=settings.mock_fail_rate,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette):
        async with AsyncExitStack() as stack:
            db = await open_database(settings, stack)
            blobs = await stack.enter_async_context(open_blob_store(settings.blob_url, settings.blob_dir))
            metrics.track_pool(db.size, db.idle)
            generator = make_generator_for(settings)
            stack.push_async_callback(generator.aclose)
            services = Services(
                settings=settings,
                db=db,
                blobs=blobs,
                metrics=metrics,
                generator=generator,
                auth_by_address=RateLimiter(settings.auth_attempts_per_address),
                auth_by_email=RateLimiter(settings.auth_attempts_per_email),
                step_submissions=RateLimiter(settings.steps_per_minute),
                admin_actions=RateLimiter(settings.admin_requests_per_minute),
            )
            services.tiles = TileCache(blobs)
            services.bus = await stack.enter_async_context(open_bus(settings.redis_url))
            hub = Hub(services, services.bus, resync_seconds=settings.bus_resync_seconds)
            services.hub = await stack.enter_async_context(hub)
            services.coordinator = await stack.enter_async_context(
                Coordinator(
                    services,
                    generator,
                    publish=hub.publish_events,
                    on_progress=hub.publish_progress,
                    shutdown_grace=settings.shutdown_grace_seconds,
                )
            )
            await stack.enter_async_context(
                Reaper(services, hub.publish_events, settings.reaper_interval_seconds)
            )
            metrics.track_live(
                lambda: hub.connection_count, lambda: hub.spectator_count, lambda: len(services.coordinator.running)
            )
            app.state.services = services
            yield

    async def index(request):
        return FileResponse(CLIENT_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def dashboard(request):
        return FileResponse(CLIENT_DIR / "admin.html", headers={"Cache-Control": "no-cache"})

    routes = [
        # The client routes in the browser; each of its pages loads the same document.
        Route("/", index, methods=["GET"]),
        Route("/rooms/{room_id}", index, methods=["GET"]),
        Route("/join/{room_id}", index, methods=["GET"]),
        Route("/share/{room_id}", index, methods=["GET"]),
        Route("/admin", dashboard, methods=["GET"]),
        *auth.routes,
        *rooms.routes,
        *steps_http.routes,
        *ws.routes,
        *admin.routes,
        *admin_socket.routes,
        *health.routes,
        *openapi.routes,
        Mount("/client", StaticFiles(directory=CLIENT_DIR), name="client"),
    ]
    middleware = [
        Middleware(SecurityHeaders, production=settings.production),
        Middleware(RequestContext, metrics=metrics),
        Middleware(
            OriginGuard, public_url=settings.public_url, development=not settings.production
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
