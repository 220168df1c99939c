"""A room played from start to finish through the HTTP contract."""

import hashlib
import io

import numpy as np
from PIL import Image

from tests.invariants import check_invariants
from tests.play import join, new_player, open_room, snapshot, start, step_and_settle


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


async def test_two_players_play_a_room_to_the_end(client, db, settings):
    host, host_user = await new_player(client)
    guest, _guest_user = await new_player(client)
    room = await open_room(host, max_steps=4)
    assert room["status"] == "lobby" and room["members"][0]["user_id"] == host_user["id"]
    await join(guest, room)
    room = await start(host, room)
    assert room["status"] == "playing"
    assert room["turn"]["player_id"] == host_user["id"] and "nonce" in room["turn"]

    directions = ["up", "right", "down", "left"]  # the first step always places (0, 0)
    players = [host, guest]
    for number, direction in enumerate(directions):
        step = await step_and_settle(players[number % 2], room["id"], direction, f"prompt {number}")
        assert step["status"] == "committed", step
    final = await snapshot(guest, room["id"])
    assert final["status"] == "finished"
    assert [(t["x"], t["y"]) for t in final["tiles"]] == [(0, 0), (1, 0), (1, 1), (0, 1)]
    assert final["tile_count"] == 4

    me = (await host.get("/api/me")).json()
    assert me["credits"] == 18  # two steps of one credit each

    canvas = await host.get(f"/api/rooms/{room['id']}/canvas.png")
    assert canvas.status_code == 200
    composite = _pixels(canvas.content)
    assert composite.shape == (512, 512, 4)
    for tile in final["tiles"]:
        blob = await host.get(tile["url"])
        assert blob.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert hashlib.sha256(blob.content).hexdigest() in tile["url"]
        x, y = tile["x"] * 256, tile["y"] * 256
        assert np.array_equal(composite[y : y + 256, x : x + 256], _pixels(blob.content))

    events = (await guest.get(f"/api/rooms/{room['id']}/events?after=0")).json()
    kinds = [event["kind"] for event in events["events"]]
    assert kinds == [
        "member.joined",
        "member.joined",
        "room.started",
        "turn.changed",
        "step.started",
        "step.committed",
        "turn.changed",
        "step.started",
        "step.committed",
        "turn.changed",
        "step.started",
        "step.committed",
        "turn.changed",
        "step.started",
        "step.committed",
        "room.finished",
    ]
    assert [event["seq"] for event in events["events"]] == list(range(1, 17)) and events["seq"] == 16
    await check_invariants(db, settings.blob_dir)
