"""Helpers that play the game through the HTTP contract, as a browser would."""

from __future__ import annotations

import itertools
import uuid

import httpx

from tests.conftest import browser, signup

_names = (f"Player {n}" for n in itertools.count(1))


async def new_player(client: httpx.AsyncClient) -> tuple[httpx.AsyncClient, dict]:
    """A new browser on the same app with a freshly signed-up user in it."""
    player = browser(client)
    user = await signup(player, display_name=next(_names))
    return player, user


async def open_room(host: httpx.AsyncClient, **fields) -> dict:
    body = {"name": "Test room", "mode": "open", "tile_size": 256, **fields}
    response = await host.post("/api/rooms", json=body)
    assert response.status_code == 201, response.text
    return response.json()["room"]


async def join(player: httpx.AsyncClient, room: dict) -> dict:
    response = await player.post(f"/api/rooms/{room['id']}/join", json={"invite_code": room["invite_code"]})
    assert response.status_code == 200, response.text
    return response.json()["room"]


async def start(host: httpx.AsyncClient, room: dict) -> dict:
    response = await host.post(f"/api/rooms/{room['id']}/start")
    assert response.status_code == 200, response.text
    return response.json()["room"]


async def snapshot(player: httpx.AsyncClient, room_id: str) -> dict:
    response = await player.get(f"/api/rooms/{room_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def submit(
    player: httpx.AsyncClient,
    room_id: str,
    direction: str = "right",
    prompt: str = "a quiet harbour",
    *,
    key: str | None = None,
    nonce: str | None = None,
) -> httpx.Response:
    if nonce is None:
        nonce = (await snapshot(player, room_id))["turn"].get("nonce", "")
    return await player.post(
        f"/api/rooms/{room_id}/steps",
        json={"turn_nonce": nonce, "prompt": prompt, "direction": direction},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


async def settle(player: httpx.AsyncClient, room_id: str) -> None:
    """Waits until this app's running step in the room, if any, has committed or aborted."""
    await player.app.state.services.runner.wait(uuid.UUID(room_id))


async def step_and_settle(player, room_id, direction="right", prompt="a quiet harbour") -> dict:
    response = await submit(player, room_id, direction, prompt)
    assert response.status_code == 202, response.text
    await settle(player, room_id)
    return (await player.get(f"/api/rooms/{room_id}/steps/{response.json()['step']['id']}")).json()
