"""Real backends for every test: one embedded Postgres per session, a fresh database per test
cloned from a template that already holds the schema."""

from __future__ import annotations

import itertools
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from server.app import create_app
from server.http.sessions import SESSION_COOKIE
from server.lifespan import configured_generator
from server.settings import Settings
from storage import EmbeddedPostgres, database
from tests.generators import Relay
from tests.invariants import check_invariants

TEMPLATE = "exquisite_template"
# argon2id at its cheapest: production's costs are proved once, in test_auth.py, not paid per signup.
CHEAP_PASSWORDS = {"password_time_cost": 1, "password_memory_kib": 8, "password_parallelism": 1}
ORIGIN = "http://testserver"
_database_names = (f"test_{n}" for n in itertools.count())


@pytest.fixture(scope="session")
def postgres() -> EmbeddedPostgres:
    # Not under pytest's temporary root: each pytest process (a parallel worker too) makes that
    # root private when it starts, which would lock out the server's own system user under root.
    with tempfile.TemporaryDirectory(prefix="exquisite-pg-") as folder:
        server = EmbeddedPostgres(Path(folder) / "data", delete_on_exit=True)
        server.start()
        yield server
        server.stop()


@pytest.fixture(scope="session")
async def template_database(postgres) -> str:
    admin = await asyncpg.connect(postgres.uri())
    try:
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(postgres.uri(TEMPLATE))
    try:
        await database.migrate(conn)
    finally:
        await conn.close()
    return TEMPLATE


@pytest.fixture
async def database_url(request, postgres, template_database) -> str:
    """A fresh database; afterwards, unless the test breaks them on purpose, the invariants hold."""
    name = next(_database_names)
    admin = await asyncpg.connect(postgres.uri())
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template_database}")
    finally:
        await admin.close()
    yield postgres.uri(name)
    try:
        if request.node.get_closest_marker("breaks_invariants") is None:
            conn = await asyncpg.connect(postgres.uri(name))
            try:
                await check_invariants(conn)
            finally:
                await conn.close()
    finally:
        # A server the test left running may still hold connections: FORCE ends them.
        admin = await asyncpg.connect(postgres.uri())
        try:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        finally:
            await admin.close()


@pytest.fixture
async def db(database_url) -> asyncpg.Connection:
    """A direct connection for tests that inspect or break the database on purpose."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


def make_settings(database_url: str, data_dir: Path, **overrides) -> Settings:
    values = dict(
        database_url=database_url,
        data_dir=data_dir,
        exquisite_env="development",
        redis_url=None,
        blob_url=None,
        public_url=None,
        session_secret="test-secret",
        generator="mock",
        mock_delay_ms=0,
        mock_fail_rate=0.0,
        signup_credits=20,
        # The overload guard reads a loaded test machine as a saturated server; test_overload.py
        # arms it on purpose.
        busy_loop_lag_ms=0,
        busy_pool_wait_ms=0,
        busy_pixel_wait_ms=0,
        **CHEAP_PASSWORDS,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@asynccontextmanager
async def running_app(settings: Settings):
    """The real app with its lifespan entered, and an HTTP client speaking to it in process. Its
    generator is the configured one behind a Relay, so that a test may gate it."""
    app = create_app(settings, generator=Relay(configured_generator(settings)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN}) as client:
            client.app = app
            yield client


@pytest.fixture
async def client(settings) -> httpx.AsyncClient:
    async with running_app(settings) as client:
        yield client


_emails = (f"player{n}@example.com" for n in itertools.count())


async def signup(client: httpx.AsyncClient, email: str | None = None, **fields) -> dict:
    """Signs up a fresh user on this client (its cookie jar keeps the session); returns the user."""
    body = {"email": email or next(_emails), "password": "correct horse battery", "display_name": "Player"}
    body.update(fields)
    response = await client.post("/api/auth/signup", json=body)
    assert response.status_code == 201, response.text
    return response.json()["user"]


def browser(client: httpx.AsyncClient, token: str | None = None) -> httpx.AsyncClient:
    """Another browser on the same app: its own cookie jar, holding `token` if given."""
    origin = client.headers.get("Origin", ORIGIN)
    other = httpx.AsyncClient(transport=client._transport, base_url=client.base_url, headers={"Origin": origin})
    if token is not None:
        other.cookies.set(SESSION_COOKIE, token)
    other.app = getattr(client, "app", None)
    return other


@pytest.fixture
async def redis_server():
    from tests.servers import RedisServer

    server = await RedisServer().start()
    yield server
    if server.process.returncode is None:
        await server.kill()
