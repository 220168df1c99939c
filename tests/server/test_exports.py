"""What a round gives to show and share: the animated timelapse, one frame per tile, made once per
tile count; and each tile's WebP display copy beside its canonical PNG."""

import io
import os
import time

import numpy as np
from PIL import Image

from server.play import renders
from server.play.retention import sweep_blobs
from tests.play import new_player, open_room, start, step_and_settle


async def test_the_timelapse_has_a_frame_per_tile_and_is_made_once_per_tile_count(client, monkeypatch):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host, max_steps=3))
    url = f"/api/rooms/{room['id']}/timelapse.webp"
    assert (await host.get(url)).json()["error"]["code"] == "no_tiles"

    for direction in ("right", "down"):
        await step_and_settle(host, room["id"], direction, prompt=f"a harbour to the {direction}")
    first = await host.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/webp"
    animation = Image.open(io.BytesIO(first.content))
    assert animation.format == "WEBP" and animation.n_frames == 2
    # The first step places cell (0, 0) and the second (0, 1): a column of two cells and a caption.
    assert animation.width == 256 and animation.height > 2 * 256
    frames = []
    for index in range(animation.n_frames):
        animation.seek(index)
        frames.append(np.asarray(animation.convert("RGB"), dtype=np.int16))
    # The second frame adds the second tile and leaves the first one where it was.
    assert np.abs(frames[1][256:512] - frames[0][256:512]).mean() > 10
    assert np.abs(frames[1][:256, :256] - frames[0][:256, :256]).mean() < 3

    etag = first.headers["etag"]
    assert (await host.get(url, headers={"If-None-Match": etag})).status_code == 304

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(renders.timelapse, "timelapse_webp", no_render)
    again = await host.get(url)  # kept: the same bytes without a render
    assert again.status_code == 200 and again.content == first.content

    monkeypatch.undo()
    await step_and_settle(host, room["id"], "right")  # the third step finishes the room
    longer = await client.get(url)
    assert Image.open(io.BytesIO(longer.content)).n_frames == 3 and longer.headers["etag"] != etag


async def test_a_folded_rooms_timelapse_waits_for_the_reveal(client):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host, mode="folded", max_steps=2))
    await step_and_settle(host, room["id"])
    url = f"/api/rooms/{room['id']}/timelapse.webp"
    refused = await host.get(url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_revealed"
    await step_and_settle(host, room["id"], "down")
    assert Image.open(io.BytesIO((await client.get(url)).content)).n_frames == 2


async def test_a_tiles_display_copy_is_webp_of_the_same_picture_and_only_tiles_have_one(client, settings):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    tile = (await step_and_settle(host, room["id"]))["tile"]
    png = await client.get(tile["url"])
    webp = await client.get(tile["url"].removesuffix(".png") + ".webp")
    assert webp.status_code == 200 and webp.headers["content-type"] == "image/webp"
    assert "immutable" in webp.headers["cache-control"]
    original = np.asarray(Image.open(io.BytesIO(png.content)).convert("RGB"), dtype=np.int16)
    copy = np.asarray(Image.open(io.BytesIO(webp.content)).convert("RGB"), dtype=np.int16)
    assert copy.shape == original.shape and np.abs(copy - original).mean() < 4
    assert (await client.get(tile["url"].removesuffix(".png") + ".webp")).content == webp.content
    small = await client.get(tile["url"].removesuffix(".png") + ".webp?w=128")
    assert Image.open(io.BytesIO(small.content)).size == (128, 128) and len(small.content) < len(webp.content)
    assert small.headers["etag"] != webp.headers["etag"]
    # A width above the tile's own is the tile's own size (the tile here is 256 px).
    wide = await client.get(tile["url"].removesuffix(".png") + ".webp?w=1024")
    assert Image.open(io.BytesIO(wide.content)).size == (256, 256)
    refused = await client.get(tile["url"].removesuffix(".png") + ".webp?w=300")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_field"

    unknown = await client.get("/blobs/" + "0" * 64 + ".webp")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert (await client.get("/blobs/not-a-key.webp")).status_code == 404

    # Display copies and timelapses are referenced blobs: retention leaves them alone.
    assert (await host.get(f"/api/rooms/{room['id']}/timelapse.webp")).status_code == 200
    services = client.app.state.services
    old = time.time() - settings.blob_grace_seconds - 3600
    keys = [key async for key, _ in services.blobs.scan()]
    assert len(keys) == 4  # the tile, its copies at 256 and 128 px, the timelapse
    for key in keys:
        os.utime(settings.blob_dir / key[:2] / f"{key}.png", (old, old))
    assert await sweep_blobs(services.db, services.blobs, settings.blob_grace_seconds) == 0
