"""Health, readiness, metrics, request ids and the last-resort 500."""

import logging
import shutil

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from server.http.errors import EXCEPTION_HANDLERS
from server.http.middleware import RequestContext
from server.metrics import Metrics
from tests.conftest import signup


async def test_healthz_and_readyz_are_ok(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    response = await client.get("/readyz")
    assert response.status_code == 200
    checks = {"database": "ok", "bus": "ok", "blobs": "ok", "generator": "ok"}
    assert response.json() == {"status": "ok", "checks": checks}


async def test_readyz_names_an_unwritable_blob_store(client, settings):
    shutil.rmtree(settings.blob_dir)
    settings.blob_dir.write_text("a file where the blob directory should be")
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "bus": "ok", "blobs": "down", "generator": "ok"}


async def test_readyz_names_an_unreachable_database(client, db, postgres):
    name = await db.fetchval("SELECT current_database()")
    await db.close()
    admin = await asyncpg.connect(postgres.uri())
    await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"
    await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    await admin.close()
    assert (await client.get("/readyz")).status_code == 200


async def test_every_response_carries_a_request_id(client):
    ids = set()
    for method, path in [("GET", "/healthz"), ("GET", "/nope"), ("POST", "/api/auth/login"), ("PUT", "/api/me")]:
        response = await client.request(method, path)
        ids.add(response.headers["x-request-id"])
    assert len(ids) == 4


async def test_metrics_count_requests_by_route_template_and_status(client):
    await signup(client)
    await client.get("/api/me")
    await client.get("/missing")
    await client.put("/api/me")  # the right path, a wrong method
    refused = await client.post("/api/auth/logout", headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403  # before routing
    text = (await client.get("/metrics")).text
    assert 'exquisite_http_requests_total{method="POST",route="/api/auth/signup",status="201"} 1.0' in text
    assert 'exquisite_http_requests_total{method="GET",route="/api/me",status="200"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'exquisite_http_requests_total{method="PUT",route="/api/me",status="405"} 1.0' in text
    assert 'exquisite_http_requests_total{method="POST",route="/api/auth/logout",status="403"} 1.0' in text
    assert "exquisite_http_request_seconds_bucket" in text
    figures = _samples(text)
    # Read at scrape time, after the route gave its connection back: the pool is open and idle.
    assert figures["exquisite_db_pool_size"] == client.app.state.services.db.size() >= 1
    assert figures["exquisite_db_pool_in_use"] == 0


def _samples(text: str) -> dict[str, float]:
    """The unlabelled samples of a Prometheus text page, by name."""
    samples = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if line and not line.startswith("#") and "{" not in name:
            samples[name] = float(value)
    return samples


async def test_unexpected_exception_is_500_envelope_without_trace(caplog):
    async def broken(request):
        raise ZeroDivisionError("secret internals")

    app = Starlette(
        routes=[Route("/broken", broken)],
        middleware=[Middleware(RequestContext, metrics=Metrics())],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with caplog.at_level(logging.ERROR, logger="exquisite.http"):
            response = await client.get("/broken")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal"
    assert error["request_id"] == response.headers["x-request-id"]
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert "ZeroDivisionError: secret internals" in caplog.text
    assert error["request_id"] in caplog.text


async def test_index_serves_the_sign_in_page(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert 'id="signup-form"' in response.text and 'id="login-form"' in response.text


async def test_metrics_show_how_busy_a_step_kept_the_pixel_pool(client):
    from server.play import pixels
    from tests.play import new_player, open_room, start, step_and_settle

    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    before = _samples((await client.get("/metrics")).text)
    await step_and_settle(host, room["id"])
    after = _samples((await client.get("/metrics")).text)
    # The painting, the seams and the PNG of one step ran on the pool (process-wide, like it).
    assert after["exquisite_pixel_busy_seconds_total"] > before["exquisite_pixel_busy_seconds_total"] >= 0
    assert after["exquisite_pixel_workers"] == pixels.WORKERS


async def test_metrics_show_the_tile_cache_serving_the_neighbours_of_a_step(client):
    from tests.play import new_player, open_room, start, step_and_settle

    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    await step_and_settle(host, room["id"])
    before = _samples((await client.get("/metrics")).text)
    await step_and_settle(host, room["id"])  # beside the first tile, which its step kept decoded
    after = _samples((await client.get("/metrics")).text)
    assert after["exquisite_tile_cache_hits_total"] == before["exquisite_tile_cache_hits_total"] + 1
    assert after["exquisite_tile_cache_misses_total"] == before["exquisite_tile_cache_misses_total"]
    assert after["exquisite_tile_cache_bytes"] == before["exquisite_tile_cache_bytes"] + room["tile_size"] ** 2 * 4


async def test_metrics_show_the_seams_and_drift_of_committed_tiles(client, db):
    from tests.play import new_player, open_room, start, step_and_settle

    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    for direction in ("right", "right"):  # the second tile has a neighbour to join and to stray from
        await step_and_settle(host, room["id"], direction)
    figures = _samples((await client.get("/metrics")).text)
    assert figures["exquisite_seam_score_count"] == 2 and figures["exquisite_context_drift_count"] == 2
    stored = await db.fetch("SELECT context_drift FROM steps ORDER BY created_at")
    assert stored[0]["context_drift"] == 0 and stored[1]["context_drift"] > 0
    assert figures["exquisite_context_drift_sum"] == pytest.approx(sum(row["context_drift"] for row in stored))
