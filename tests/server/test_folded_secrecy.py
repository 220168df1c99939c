"""Folded rooms keep each player to their edge (DESIGN section 3): only the player whose turn it is
learns the frontier and its free directions, and their context shows one strip of one tile."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from engine import Direction, decode_png, edge_window
from tests.play import join, new_player, open_room, snapshot, start, step_and_settle

T = 256


async def _played(client, mode: str):
    """A two-player room of `mode` after three tiles, (0, 0), (1, 0), (1, 1): the guest's turn."""
    host, _ = await new_player(client)
    guest, guest_user = await new_player(client)
    room = await open_room(host, mode=mode, tile_size=T)
    await join(guest, room)
    await start(host, room)
    await step_and_settle(host, room["id"], "right")
    await step_and_settle(guest, room["id"], "right")
    await step_and_settle(host, room["id"], "down")
    return room["id"], host, guest, guest_user


async def test_a_folded_room_shows_only_the_current_player_the_way_on_and_only_its_edge(client):
    room_id, host, guest, guest_user = await _played(client, "folded")
    mine = await snapshot(guest, room_id)
    assert mine["turn"]["player_id"] == guest_user["id"]
    assert mine["frontier"] == [1, 1] and mine["free_directions"] == ["left", "right", "down"]
    theirs = await snapshot(host, room_id)
    assert theirs["frontier"] is None and theirs["free_directions"] == []
    assert theirs["tile_count"] == 3 and theirs["tiles"] == []

    # Their context is only the strip of the frontier tile that borders the target cell.
    # Left of (1, 1) is (0, 1): the window also covers (0, 0) and (1, 0), which must stay hidden.
    response = await guest.get(f"/api/rooms/{room_id}/context.png?direction=left")
    assert response.status_code == 200, response.text
    shown = decode_png(response.content)
    assert shown.shape == (2 * T, 2 * T, 4)
    frontier_tile = await _tile_at(client, host, room_id, (1, 1))
    assert np.array_equal(shown, edge_window(frontier_tile, Direction.LEFT, T))
    assert (shown[..., 3] == 255).sum() == T * T // 4


async def test_an_open_room_shows_everyone_the_way_and_its_whole_context(client):
    room_id, host, guest, _ = await _played(client, "open")
    assert (await snapshot(host, room_id))["free_directions"] == ["left", "right", "down"]
    response = await guest.get(f"/api/rooms/{room_id}/context.png?direction=left")
    image = Image.open(io.BytesIO(response.content))
    opaque = (np.asarray(image)[..., 3] == 255).sum()
    assert opaque == (T // 2) * (T // 2) + T * (T // 2) + (T // 2) * T  # (0, 0), (1, 0) and (1, 1)


async def _tile_at(client, host, room_id: str, cell: tuple[int, int]) -> np.ndarray:
    """A tile's pixels, read from the database and the blob store (the room is still folded)."""
    services = client.app.state.services
    async with services.db.acquire() as conn:
        sha256 = await conn.fetchval(
            "SELECT sha256 FROM tiles WHERE room_id = $1 AND x = $2 AND y = $3", room_id, *cell
        )
    return decode_png(await services.blobs.get(sha256))
