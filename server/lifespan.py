"""Opens every resource in order, builds the frozen Services from them, and closes them in
reverse: the database, blobs, generator and bus first; then the hub, the step runner and the
reaper, which use them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from limits.aio.storage import Storage as CounterStorage

from engine import Generator, GeneratorFailure, make_generator
from server.billing.stripe_gateway import StripeGateway
from server.http.passwords import Passwords
from server.http.ratelimit import LiveCount, RateLimit
from server.live.hub import Hub
from server.load import Load
from server.metrics import Metrics
from server.play import pixels
from server.play.moderation import Moderation
from server.play.publisher import Publisher
from server.play.recovery import reaper
from server.play.retention import retention
from server.play.runner import StepRunner
from server.play.step import Studio
from server.play.tiles import TileCache
from server.services import Limits, Services
from server.settings import Settings
from storage import AccountFeed, Database, EmbeddedPostgres, database, open_blob_store, open_bus
from storage.counters import open_counters

__all__ = ["open_services", "open_database"]

log = logging.getLogger(__name__)


async def open_database(settings: Settings, stack: AsyncExitStack) -> Database:
    """The pool, on DATABASE_URL or on an embedded server that stops with the stack; migrated."""
    dsn = settings.database_url
    if not dsn:
        embedded = EmbeddedPostgres(settings.data_dir / "pg")
        dsn = await asyncio.to_thread(embedded.start)
        stack.callback(embedded.stop)
    db = await stack.enter_async_context(Database(dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max))
    async with db.acquire() as conn:
        version = await database.migrate(conn)
    log.info("database ready at schema version %s", version)
    return db


def configured_generator(settings: Settings) -> Generator:
    return make_generator(
        settings.generator,
        openai_api_key=settings.openai_api_key,
        openai_model=settings.openai_model,
        openai_base_url=settings.openai_base_url,
        openai_quality=settings.openai_quality,
        openai_complexity=settings.openai_complexity,
        openai_max_side=settings.openai_max_side,
        openai_partial_images=settings.openai_partial_images,
        timeout=settings.generator_timeout_seconds,
        mock_delay_ms=settings.mock_delay_ms,
        mock_fail_rate=settings.mock_fail_rate,
        offload=pixels.run,  # the generator's image work shares the pixel workers
    )


async def check_generator(settings: Settings, generator: Generator) -> None:
    """At start-up: a generator that cannot serve (bad key, unknown or shut-down model) is logged
    at error with what to set; the instance still starts, and /readyz answers 503 meanwhile."""
    try:
        await generator.check()
    except GeneratorFailure as exc:
        log.error("GENERATOR=%s cannot paint: %s", settings.generator, exc)


def _limits(settings: Settings, counters: CounterStorage) -> Limits:
    sockets = {"code": "too_many_connections", "message": "Too many live connections; close some and try again."}
    return Limits(
        auth_by_address=RateLimit(counters, "auth-address", settings.auth_attempts_per_address),
        auth_by_email=RateLimit(counters, "auth-email-address", settings.auth_attempts_per_email),
        auth_ceiling=RateLimit(counters, "auth-email", settings.auth_failures_per_email_per_hour, 3600),
        step_submissions=RateLimit(counters, "steps", settings.steps_per_minute),
        admin_actions=RateLimit(counters, "admin", settings.admin_requests_per_minute),
        checkouts=RateLimit(counters, "checkouts", settings.checkouts_per_minute),
        rooms_created=RateLimit(
            counters,
            "rooms",
            settings.rooms_per_hour,
            3600,
            code="too_many_rooms",
            message="Too many rooms created this hour; try again later.",
        ),
        present_frames=RateLimit(counters, "present", settings.present_frames_per_minute),
        sockets_by_user=LiveCount(counters, "sockets-user", settings.sockets_per_user, **sockets),
        sockets_by_address=LiveCount(counters, "sockets-address", settings.sockets_per_address, **sockets),
    )


@asynccontextmanager
async def open_services(
    settings: Settings, metrics: Metrics, generator: Generator | None = None
) -> AsyncIterator[Services]:
    """Everything the app serves with, open until the block ends. `generator` replaces the
    configured one (the test suite's gated generators)."""
    async with AsyncExitStack() as stack:
        db = await open_database(settings, stack)
        metrics.track_pool(db.size, db.idle)
        metrics.track_pixel_pool(pixels.busy_seconds, pixels.WORKERS)
        pixels.start()
        load = await stack.enter_async_context(
            Load(
                loop_lag_bound=settings.busy_loop_lag_ms / 1000,
                pool_wait_bound=settings.busy_pool_wait_ms / 1000,
                pixel_wait_bound=settings.busy_pixel_wait_ms / 1000,
                pixel_wait=pixels.oldest_wait,
                loop_lag_histogram=metrics.loop_lag,
            )
        )

        def on_wait(seconds: float) -> None:
            metrics.db_pool_wait.observe(seconds)
            if db.size() >= settings.db_pool_max:
                # Only a full pool's wait is saturation; a growing pool's is a connection opening.
                load.observe_pool_wait(seconds)

        db.on_wait = on_wait
        blobs = await stack.enter_async_context(open_blob_store(settings.blob_url, settings.blob_dir))
        if generator is None:
            generator = configured_generator(settings)
            stack.push_async_callback(generator.aclose)
        await check_generator(settings, generator)
        moderation = Moderation(settings)
        stack.push_async_callback(moderation.aclose)
        bus = await stack.enter_async_context(open_bus(settings.redis_url))
        counters = await stack.enter_async_context(open_counters(settings.redis_url))
        publisher = Publisher(bus)
        tiles = TileCache(blobs)
        metrics.track_tile_cache(lambda: tiles.hits, lambda: tiles.misses, lambda: tiles.size)
        studio = Studio(
            settings=settings,
            db=db,
            blobs=blobs,
            tiles=tiles,
            generator=generator,
            metrics=metrics,
            moderation=moderation,
        )
        hub = await stack.enter_async_context(Hub(db, bus, resync_seconds=settings.bus_resync_seconds))
        await stack.enter_async_context(AccountFeed(db.dsn, hub.credits_changed, hub.sessions_revoked))
        runner = await stack.enter_async_context(
            StepRunner(studio, publisher, shutdown_grace=settings.shutdown_grace_seconds)
        )
        await stack.enter_async_context(reaper(db, metrics, publisher, settings))
        await stack.enter_async_context(retention(db, blobs, settings))
        stripe = await stack.enter_async_context(StripeGateway(settings)) if settings.billing else None
        metrics.track_live(lambda: hub.connection_count, lambda: hub.spectator_count, lambda: len(runner.running))
        yield Services(
            settings=settings,
            db=db,
            blobs=blobs,
            bus=bus,
            metrics=metrics,
            generator=generator,
            tiles=tiles,
            passwords=Passwords(
                time_cost=settings.password_time_cost,
                memory_kib=settings.password_memory_kib,
                parallelism=settings.password_parallelism,
                concurrency=settings.password_concurrency,
                queue=settings.password_queue,
            ),
            limits=_limits(settings, counters),
            publisher=publisher,
            runner=runner,
            hub=hub,
            load=load,
            stripe=stripe,
        )
