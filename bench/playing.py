"""Playing a room by real steps, for the benches: the path they paint and a whole solo game."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from engine import Direction


def snake(number: int) -> Direction:
    """The move onto the number-th cell of a path that fills an 8-wide extent row by row:
    right x7, down, left x7, down, ... (the first step places (0, 0) whatever the direction)."""
    row, column = divmod(number, 8)
    if column == 0:
        return Direction.DOWN
    return Direction.RIGHT if row % 2 == 0 else Direction.LEFT


async def play_room(
    http: httpx.AsyncClient, *, email: str, display_name: str, room_name: str, tiles: int, tile_size: int
) -> str:
    """Signs up `email`, opens a solo room of `tiles` steps and plays it to its end along the
    snake, each step waited for; returns the room's id."""
    body = {"email": email, "password": "benchmark password", "display_name": display_name}
    (await http.post("/api/auth/signup", json=body)).raise_for_status()
    body = {"name": room_name, "mode": "open", "tile_size": tile_size, "max_steps": tiles}
    room = (await http.post("/api/rooms", json=body)).json()["room"]
    room = (await http.post(f"/api/rooms/{room['id']}/start")).json()["room"]
    started = time.perf_counter()
    for number in range(tiles):
        body = {"turn_nonce": room["turn"]["nonce"], "prompt": f"tile {number}", "direction": snake(number).value}
        response = await http.post(
            f"/api/rooms/{room['id']}/steps", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        if response.status_code != 202:
            raise SystemExit(f"step {number} refused: {response.status_code} {response.text}")
        step = response.json()["step"]
        while step["status"] == "running":
            await asyncio.sleep(0.05)  # a bench may poll; the client waits on its socket
            step = (await http.get(f"/api/rooms/{room['id']}/steps/{step['id']}")).json()
        if step["status"] != "committed":
            raise SystemExit(f"step {number} {step['status']}: {step.get('reason')}")
        room = (await http.get(f"/api/rooms/{room['id']}")).json()
        print(f"\r  {number + 1}/{tiles} steps, {time.perf_counter() - started:.0f} s", end="", flush=True)
    print()
    if room["status"] != "finished":
        raise SystemExit(f"the room is {room['status']} after {tiles} steps")
    return room["id"]
