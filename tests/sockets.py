"""A websocket client for tests: JSON frames from a room socket, as a browser would read them."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

from websockets.asyncio.client import connect

from server.http.sessions import SESSION_COOKIE


class Socket:
    """A websocket client that reads JSON frames, skipping the ephemeral ones on request."""

    def __init__(self, ws) -> None:
        self.ws = ws

    async def frame(self) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), 10))

    async def next(self, *types: str) -> dict:
        while True:
            frame = await self.frame()
            if frame["type"] in types:
                return frame

    async def next_event(self, *kinds: str) -> dict:
        while True:
            frame = await self.next("event")
            if frame["kind"] in kinds:
                return frame

    async def events(self, count: int) -> list[dict]:
        return [await self.next("event") for _ in range(count)]

    async def send(self, body: dict) -> None:
        await self.ws.send(json.dumps(body))


@asynccontextmanager
async def room_socket(server, player, room_id, *, after=None, origin=None, cookie=True, **options):
    url = f"{server.ws_url}/ws/rooms/{room_id}" + (f"?after={after}" if after is not None else "")
    headers = {"Origin": origin or server.url}
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={player.cookies[SESSION_COOKIE]}"
    async with connect(url, additional_headers=headers, compression=None, **options) as ws:
        yield Socket(ws)
