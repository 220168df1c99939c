"""Retention: orphan blobs are swept after their grace, old events are compacted, and a resume
from before what is kept gets a snapshot."""

import os
import time
import uuid

import httpx
import pytest

from server.play.recovery import reap_once
from server.play.retention import prune_events, sweep_blobs
from tests.conftest import make_settings
from tests.generators import gate
from tests.play import new_player, open_room, snapshot, start, step_and_settle, submit
from tests.servers import LiveServer
from tests.sockets import room_socket

HOUR = 3600


def _age(blob_dir, key: str, seconds: float) -> None:
    path = blob_dir / key[:2] / f"{key}.png"
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_a_blob_left_by_an_aborted_step_is_swept_after_its_grace_and_tiles_are_kept(client, db, settings):
    services = client.app.state.services
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    kept = await step_and_settle(host, room["id"])
    # A step that loses its lease after generating still writes its blob, then cannot commit it.
    zombie = gate(client)
    orphan_step = (await submit(host, room["id"])).json()["step"]
    await zombie.entered.wait()
    await db.execute("UPDATE room_leases SET expires_at = now() - interval '1 second'")
    await reap_once(services.db, services.metrics, services.settings)
    zombie.gate.set()
    await services.runner.wait_step(uuid.UUID(orphan_step["id"]))
    assert await db.fetchval("SELECT reason FROM steps WHERE id = $1", uuid.UUID(orphan_step["id"])) == "lease_expired"

    stored = {key async for key, _ in services.blobs.scan()}
    tile_key = kept["tile"]["url"].rsplit("/", 1)[1].removesuffix(".png")
    [orphan] = stored - {tile_key}
    grace = settings.blob_grace_seconds
    assert await sweep_blobs(services.db, services.blobs, grace) == 0  # young: a step may still commit it

    for key in stored:
        _age(settings.blob_dir, key, grace + HOUR)
    young = await services.blobs.put(b"written a moment ago by a step still painting")
    assert await sweep_blobs(services.db, services.blobs, grace) == 1
    assert {key async for key, _ in services.blobs.scan()} == {tile_key, young}
    assert await services.blobs.get(orphan) is None
    assert (await host.get(kept["tile"]["url"])).status_code == 200


def test_blob_grace_must_outlast_the_step_lease(tmp_path):
    with pytest.raises(ValueError, match="STEP_LEASE_SECONDS"):
        make_settings("postgresql://unused", tmp_path, step_lease_seconds=30, blob_grace_seconds=30)


async def test_old_events_are_compacted_and_a_resume_from_before_them_gets_a_snapshot(database_url, tmp_path):
    settings = make_settings(database_url, tmp_path / "live", ws_resume_window=2, event_retention_days=30)
    async with LiveServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
            http.app = server.app
            host, _ = await new_player(http)
            room = await start(host, await open_room(host))
            await step_and_settle(host, room["id"])  # seq 1..6
            db = server.app.state.services.db
            async with db.acquire() as conn:
                await conn.execute("UPDATE room_events SET at = at - interval '31 days' WHERE seq <> 3")
            # Events 1..4 are beyond the window of 2; 3 is young but older than 4, so it goes too.
            assert await prune_events(db, keep_last=2, older_than_seconds=30 * 86400) == 4
            assert await prune_events(db, keep_last=2, older_than_seconds=30 * 86400) == 0

            page = (await host.get(f"/api/rooms/{room['id']}/events?after=0")).json()
            assert [event["seq"] for event in page["events"]] == [5, 6] and page["seq"] == 6
            async with room_socket(server, host, room["id"], after=1) as sock:
                first = await sock.frame()
                assert first["type"] == "snapshot" and first["room"]["seq"] == 6
                assert first["room"] == await snapshot(host, room["id"])
            async with room_socket(server, host, room["id"], after=4) as sock:
                assert [(await sock.frame())["seq"] for _ in range(2)] == [5, 6]
