"""Kill a real server with SIGKILL at every boundary of a step; a restarted instance recovers
the room with no operator, and the invariants hold afterwards."""

import signal
from contextlib import asynccontextmanager

import httpx
import pytest

from server.play.crash_points import CRASH_POINTS
from tests.conftest import make_settings, running_app
from tests.invariants import check_invariants
from tests.play import new_player, open_room, start
from tests.servers import Served
from tests.sockets import room_socket

PASSWORD = "correct horse battery"


@asynccontextmanager
async def _signed_in(server: Served, email: str):
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=30) as http:
        response = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield http


async def _submit(http: httpx.AsyncClient, room_id: str, prompt: str) -> httpx.Response:
    nonce = (await http.get(f"/api/rooms/{room_id}")).json()["turn"]["nonce"]
    return await http.post(
        f"/api/rooms/{room_id}/steps",
        json={"turn_nonce": nonce, "prompt": prompt, "direction": "right"},
        headers={"Idempotency-Key": f"{prompt}-key"},
    )


@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_step_killed_at_each_boundary_is_recovered_by_a_restarted_instance(point, database_url, tmp_path, db):
    blobs = f"file://{tmp_path}/blobs"
    setup = make_settings(database_url, tmp_path / "setup", blob_url=blobs, reaper_interval_seconds=3600)
    async with running_app(setup) as client:
        host, user = await new_player(client)
        room = await start(host, await open_room(host))

    shared = dict(DATABASE_URL=database_url, BLOB_URL=blobs, MOCK_DELAY_MS=300)
    async with Served(tmp_path / "doomed", EXQUISITE_CRASH_AT=point, **shared) as doomed:
        async with _signed_in(doomed, user["email"]) as http:
            try:
                response = await _submit(http, room["id"], "doomed")
                assert response.status_code == 202, response.text
            except httpx.TransportError:
                assert point in ("after_check", "after_tx1")  # died before answering
        assert await doomed.died() == -signal.SIGKILL

    # The doomed lease would run out by itself; let it have run out already.
    await db.execute("UPDATE room_leases SET expires_at = now() - interval '1 second'")
    async with Served(tmp_path / "restarted", **shared) as restarted:
        # The restarted instance reaps at start-up, before it serves its first request.
        steps = await db.fetch("SELECT prompt, status, reason FROM steps")
        expected = [] if point == "after_check" else [("doomed", "aborted", "lease_expired")]
        assert [tuple(row) for row in steps] == expected
        assert await db.fetchval("SELECT count(*) FROM room_leases") == 0
        await check_invariants(db, tmp_path / "blobs")

        async with _signed_in(restarted, user["email"]) as http:
            me = (await http.get("/api/me")).json()
            assert me["credits"] == user["credits"]  # nothing lost
            async with room_socket(restarted, http, room["id"]) as sock:
                assert (await sock.frame())["type"] == "snapshot"
                response = await _submit(http, room["id"], "recovered")
                assert response.status_code == 202, response.text
                finished = await sock.next_event("step.committed", "step.aborted")
                assert finished["kind"] == "step.committed"
                assert finished["data"]["step_id"] == response.json()["step"]["id"]
            assert (await http.get("/api/me")).json()["credits"] == user["credits"] - 1
        await restarted.stop()
    await check_invariants(db, tmp_path / "blobs")
