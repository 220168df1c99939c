"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import GeneratorFailure
from server.http.answers import CheckName, CheckState, Liveness, Readiness
from server.http.documented import Answer, documented
from server.http.validation import services_of
from storage import admin

__all__ = ["routes"]

log = logging.getLogger(__name__)


@documented("healthz", "Liveness.", tag="operations", auth="public", answers={200: Answer("Alive.", Liveness)})
async def healthz(request: Request) -> Response:
    return JSONResponse(Liveness(status="ok"))


@documented(
    "readyz",
    "Readiness: the database, bus and blob store answer, and the generator can paint (its key and model).",
    tag="operations",
    auth="public",
    answers={
        200: Answer("Ready.", Readiness),
        503: Answer("Not ready; `checks` says which part is down.", Readiness),
    },
)
async def readyz(request: Request) -> Response:
    services = services_of(request)
    checks: dict[CheckName, Callable[[], Awaitable[object]]] = {
        "database": services.db.ping,
        "bus": services.bus.check,
        "blobs": services.blobs.check,
        "generator": services.generator.check,
    }
    results: dict[CheckName, CheckState] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), timeout=3)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 any failure means not ready; say which part and why
            log.warning("readiness check %s failed: %r", name, exc)
            results[name] = "down"
    ready = all(state == "ok" for state in results.values())
    return JSONResponse(Readiness(status="ok" if ready else "unavailable", checks=results), 200 if ready else 503)


PROMETHEUS_TEXT = Answer("Prometheus text format.", media_type="text/plain")


@documented("metrics", "Prometheus metrics.", tag="operations", auth="public", answers={200: PROMETHEUS_TEXT})
async def metrics(request: Request) -> Response:
    services = services_of(request)
    figures = services.metrics
    # The service-wide figures come from Postgres, read now: Prometheus collectors cannot await.
    try:
        async with services.db.acquire(timeout=2) as conn:
            for status, count in (await admin.rooms_by_status(conn)).items():
                figures.rooms.labels(status).set(count)
            flying = await admin.steps_in_flight(conn)
        figures.steps_running.labels("false").set(sum(1 for step in flying if not step.stuck))
        figures.steps_running.labels("true").set(sum(1 for step in flying if step.stuck))
    except Exception as exc:  # noqa: BLE001 the instance's own figures are still worth serving
        log.warning("reading service-wide figures for /metrics failed: %r", exc)
    try:
        await services.generator.check()  # cached by the generator: a models call per minute at most
        figures.generator_unavailable.set(0)
    except GeneratorFailure:
        figures.generator_unavailable.set(1)
    return Response(figures.render(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
