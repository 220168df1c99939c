"""The baseline of bench/fanout.py and bench/live.py: a bare `websockets` server that only
broadcasts, in a process of its own. Watchers connect to /rooms/{room} and get a snapshot-shaped
first frame; the bench sends {"room", "frame"} on /control and the frame goes to the room's
sockets, with "@AT@" replaced by the time it left (the server's stamp, like the app's `at`).

    python bench/bare_broadcast.py PORT     # prints "ready" once it listens
"""

import asyncio
import json
import sys
from datetime import UTC, datetime

from websockets.asyncio.server import broadcast, serve

rooms = {}


async def handler(ws):
    path = ws.request.path
    if path == "/control":
        async for message in ws:
            command = json.loads(message)
            frame = command["frame"].replace("@AT@", datetime.now(UTC).isoformat())
            broadcast(rooms.get(command["room"], ()), frame)
        return
    room = path.rsplit("/", 1)[-1]
    rooms.setdefault(room, set()).add(ws)
    try:
        await ws.send(json.dumps({"type": "snapshot", "room": {"id": room}}))
        await ws.wait_closed()
    finally:
        rooms[room].discard(ws)


async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None, max_queue=16):
        print("ready", flush=True)
        await asyncio.Future()


asyncio.run(main())
