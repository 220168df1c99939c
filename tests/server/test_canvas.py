"""The composite canvas: rendered once per size for a finished room and kept, scaled down by
default, and never more than the process's limit of renders at a time."""

import asyncio
import io
import os
import time

import numpy as np
from PIL import Image

from server.play import canvas
from server.play.retention import sweep_blobs
from tests.play import new_player, open_room, start, step_and_settle


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


async def _finished_l_shape(client):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host, max_steps=3))
    tiles = [(await step_and_settle(host, room["id"], direction))["tile"] for direction in ("right", "right", "down")]
    return room, tiles


async def test_a_finished_rooms_canvas_is_rendered_once_per_size_and_kept(client, db, monkeypatch, settings):
    room, tiles = await _finished_l_shape(client)
    url = f"/api/rooms/{room['id']}/canvas.png"
    full = await client.get(url + "?max=full")  # anonymous: a finished room is public
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    image = _pixels(full.content)
    assert image.shape == (512, 512, 4)
    for tile in tiles:
        x, y = tile["x"] * 256, tile["y"] * 256
        assert np.array_equal(image[y : y + 256, x : x + 256], _pixels((await client.get(tile["url"])).content))
    assert not image[256:, :256].any()  # the empty cell is transparent

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(canvas, "render", no_render)
    again = await client.get(url)  # the default size fits these tiles whole: the same canvas
    assert again.status_code == 200 and again.content == full.content
    assert again.headers["etag"] == full.headers["etag"]
    unchanged = await client.get(url, headers={"If-None-Match": full.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert await db.fetchval("SELECT count(*) FROM canvases") == 1

    monkeypatch.undo()
    small = await client.get(url + "?max=256")
    assert _pixels(small.content).shape == (256, 256, 4) and small.headers["etag"] != full.headers["etag"]
    assert await db.fetchval("SELECT count(*) FROM canvases") == 2

    # Kept canvases are referenced blobs: retention leaves them (and the tiles) alone.
    services = client.app.state.services
    old = time.time() - settings.blob_grace_seconds - 3600
    for key in [key async for key, _ in services.blobs.scan()]:
        os.utime(settings.blob_dir / key[:2] / f"{key}.png", (old, old))
    assert await sweep_blobs(services.db, services.blobs, settings.blob_grace_seconds) == 0


async def test_a_bad_size_is_refused_with_the_envelope(client):
    host, _ = await new_player(client)
    room = await open_room(host)
    for bad in ["100", "8193", "huge", "1e3", "-256", "", "99999999999999999999"]:
        response = await host.get(f"/api/rooms/{room['id']}/canvas.png?max={bad}")
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_field", bad


async def test_renders_never_exceed_the_limit_even_for_rooms_still_playing(client, monkeypatch):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    await step_and_settle(host, room["id"])
    arrived, active, most = 0, 0, 0
    all_arrived, release = asyncio.Event(), asyncio.Event()
    limit = asyncio.Semaphore(client.app.state.services.settings.canvas_renders)

    class Counted(asyncio.Semaphore):
        async def acquire(self):
            nonlocal arrived
            arrived += 1
            if arrived == 3:
                all_arrived.set()
            return await limit.acquire()

        def release(self):
            limit.release()

    async def held_render(blobs, tiles, plan):
        nonlocal active, most
        active += 1
        most = max(most, active)
        await release.wait()
        active -= 1
        return b"png"

    monkeypatch.setattr(canvas.pixels, "render_slots", lambda renders: Counted())
    monkeypatch.setattr(canvas, "render", held_render)
    fetches = [asyncio.create_task(host.get(f"/api/rooms/{room['id']}/canvas.png")) for _ in range(3)]
    await asyncio.wait_for(all_arrived.wait(), 10)
    assert active == 1
    release.set()
    assert [response.status_code for response in await asyncio.gather(*fetches)] == [200] * 3
    assert most == 1
