"""The command line, run as a real process: serve, migrate, create-admin, production refusals."""

import asyncio
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from storage import database
from tests.servers import Served, clean_env


async def _run(*args, **env) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        *args,
        env=clean_env(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, output.decode()


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({}, "SESSION_SECRET"),
        ({"SESSION_SECRET": "s", "REDIS_URL": "redis://x", "BLOB_URL": "file:///srv/b"}, "DATABASE_URL"),
        ({"SESSION_SECRET": "s", "DATABASE_URL": "postgresql://x/y", "BLOB_URL": "file:///srv/b"}, "REDIS_URL"),
        ({"SESSION_SECRET": "s", "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x"}, "BLOB_URL"),
        (
            {
                "SESSION_SECRET": "s",
                "DATABASE_URL": "postgresql://x/y",
                "REDIS_URL": "redis://x",
                "BLOB_URL": "file:///srv/b",
                "PASSWORD_MEMORY_KIB": "8",
            },
            "PASSWORD_MEMORY_KIB",
        ),
    ],
)
async def test_production_refuses_unsafe_configuration(env, complaint):
    code, output = await _run("serve", EXQUISITE_ENV="production", **env)
    assert code == 2
    assert "refusing to start in production" in output and complaint in output


async def test_invalid_setting_is_refused_clearly():
    code, output = await _run("migrate", SIGNUP_CREDITS="lots")
    assert code == 2 and "signup_credits" in output


async def test_migrate_applies_schema_idempotently(database_url, db):
    for _ in range(2):
        code, output = await _run("migrate", DATABASE_URL=database_url)
        assert code == 0, output
    versions = await db.fetch("SELECT version FROM schema_version")
    assert [row["version"] for row in versions] == [database.schema_version()]


async def test_create_admin_promotes_an_existing_user(client, database_url, db):
    await client.post(
        "/api/auth/signup", json={"email": "boss@example.com", "password": "0123456789", "display_name": "Boss"}
    )
    code, output = await _run("create-admin", "Boss@Example.com", DATABASE_URL=database_url)
    assert code == 0, output
    assert await db.fetchval("SELECT is_admin FROM users WHERE email = 'boss@example.com'") is True
    code, output = await _run("create-admin", "nobody@example.com", DATABASE_URL=database_url)
    assert code == 1 and "no user" in output


def _postgres_running(data_dir: Path) -> bool:
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data_dir / "pg") in " ".join(process.info["cmdline"] or []):
            return True
    return False


async def test_serve_starts_embedded_database_keeps_data_across_restart_and_stops_on_sigterm(tmp_path):
    data_dir = tmp_path / "data"
    account = {"email": "keep@example.com", "password": "survives a restart"}
    async with Served(data_dir) as served:
        async with httpx.AsyncClient(base_url=served.url, headers={"Origin": served.url}) as http:
            assert (await http.get("/readyz")).status_code == 200
            response = await http.post("/api/auth/signup", json={**account, "display_name": "Keeper"})
            assert response.status_code == 201
            assert (await http.get("/")).status_code == 200
        await served.stop()
    assert not _postgres_running(data_dir)

    async with Served(data_dir) as served:
        async with httpx.AsyncClient(base_url=served.url, headers={"Origin": served.url}) as http:
            response = await http.post("/api/auth/login", json=account)
            assert response.status_code == 200
            assert (await http.get("/api/me")).json()["display_name"] == "Keeper"
            assert (await http.post("/api/auth/logout")).status_code == 204
        await served.stop()
    assert not _postgres_running(data_dir)


async def test_the_server_keeps_numpys_blas_on_the_calling_thread():
    # Set by the server package before numpy loads: OpenBLAS reads it once, at its own load.
    probe = "import server.cli, numpy, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = clean_env()
    env.pop("OPENBLAS_NUM_THREADS", None)
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", probe, env=env, stdout=asyncio.subprocess.PIPE)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0 and output.decode().strip() == "1"
