"""Websocket fanout: commit-to-delivery latency and memory per idle socket, beside a bare
`websockets` server broadcasting the same frames to the same clients, in one run.

    uv run python bench/fanout.py [--clients 1000] [--rooms 100] [--rate 50] [--seconds 10] [--server-tree DIR]

1. A real `exquisite serve` (embedded Postgres, a real redis-server, MOCK_DELAY_MS=0). The clients
   are signed-in websockets spread evenly over the rooms. RSS of the server before and after they
   connect gives the memory per idle connection.
2. Events are committed in Postgres at a fixed rate, round-robin over the rooms, and published on
   Redis as any instance does; each client stamps each event frame on arrival. Latency is from the
   commit to the last recipient of that event; the server process's CPU per frame delivered is
   read from /proc. `--server-tree` runs the server of another source tree (a baseline).
3. Baseline: a bare `websockets` server in its own process; the same clients connect; a control
   socket asks it, at the same rate, to send a same-sized frame to the sockets of one "room" with
   `websockets.broadcast()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.play.publisher import encode_events
from storage import EmbeddedPostgres, database
from storage import events as event_log
from tests.servers import RedisServer, Served, free_port

PASSWORD = "benchmark password"
# The baseline: a bare websockets server that only broadcasts.
BARE_BROADCAST = Path(__file__).resolve().parent / "bare_broadcast.py"
USERS = 10


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Clients:
    """Many websocket clients in this process, stamping the arrival of every event frame."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, int], list[float]] = {}
        self.sockets = []
        self.readers = []

    async def open(self, url: str, room: str, headers: dict) -> None:
        ws = await connect(url, additional_headers=headers, compression=None, open_timeout=60, max_queue=64)
        first = json.loads(await ws.recv())
        if first["type"] != "snapshot":
            raise SystemExit(f"expected a snapshot, got {first}")
        self.sockets.append(ws)
        self.readers.append(asyncio.create_task(self._read(ws, room)))

    async def _read(self, ws, room: str) -> None:
        async for message in ws:
            if message.startswith('{"type":"event"'):
                seq = json.loads(message)["seq"]
                self.arrivals.setdefault((room, seq), []).append(time.perf_counter())

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def open_all(clients: Clients, plan: list[tuple[str, str, dict]], parallel: int = 50) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one(url, room, headers):
        async with gate:
            await clients.open(url, room, headers)

    await asyncio.gather(*(one(*item) for item in plan))


def latencies(clients: Clients, sent: dict[tuple[str, int], float], recipients: int) -> list[float]:
    result = []
    for key, t0 in sent.items():
        arrived = clients.arrivals.get(key, [])
        if len(arrived) != recipients:
            raise SystemExit(f"event {key} reached {len(arrived)} of {recipients} sockets")
        result.append((max(arrived) - t0) * 1000)
    return result


async def paced(rate: float, count: int, send) -> None:
    started = time.perf_counter()
    for number in range(count):
        delay = started + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(number)


async def drive(args, send, clients: Clients, sent: dict, per_room: int, rss_growth: int, server) -> dict:
    """Sends at the fixed rate, waits for every frame to land, and sums up the run."""
    cpu = sum(server.cpu_times()[:2])
    await paced(args.rate, int(args.rate * args.seconds), send)
    await _drain(clients, sent, per_room)
    return {
        "connections": len(clients.sockets),
        "memory": rss_growth / len(clients.sockets),
        "latency": latencies(clients, sent, per_room),
        # The server process's CPU (user + system) per frame delivered, idle time included.
        "cpu_per_frame": (sum(server.cpu_times()[:2]) - cpu) / (len(sent) * per_room),
    }


async def run_exquisite(tmp: Path, args) -> dict:
    pg = EmbeddedPostgres(tmp / "pg", delete_on_exit=True)
    pg.start()
    redis = await RedisServer().start()
    try:
        admin = await asyncpg.connect(pg.uri())
        await admin.execute("CREATE DATABASE fanout")
        await admin.close()
        dsn = pg.uri("fanout")
        conn = await asyncpg.connect(dsn)
        await database.migrate(conn)
        env = dict(
            DATABASE_URL=dsn,
            REDIS_URL=redis.url,
            AUTH_ATTEMPTS_PER_ADDRESS=100000,
            BUS_RESYNC_SECONDS=3600,
            # Every client comes from one address and ten users: the quotas would refuse them.
            SOCKETS_PER_USER=100000,
            SOCKETS_PER_ADDRESS=100000,
            ROOMS_PER_HOUR=100000,
            LOBBY_ROOMS_PER_USER=100000,
        )
        served = Served(tmp / "data", **env)
        served.cwd = args.server_tree  # None: this tree
        async with served as server:
            process = psutil.Process(server.process.pid)
            tokens, room_ids = await make_rooms(server.url, args.rooms)
            per_room = args.clients // args.rooms
            plan = [
                (
                    f"{server.ws_url}/ws/rooms/{room}",
                    room,
                    {"Origin": server.url, "Cookie": f"exq_session={tokens[n % USERS]}"},
                )
                for room in room_ids
                for n in range(per_room)
            ]
            rss_before = process.memory_info().rss
            clients = Clients()
            await open_all(clients, plan)
            rss_after = process.memory_info().rss
            publisher = await _redis_client(redis.url)
            sent: dict[tuple[str, int], float] = {}

            async def commit(number: int) -> None:
                room = room_ids[number % len(room_ids)]
                async with conn.transaction():
                    event = await event_log.append_event(
                        conn, uuid.UUID(room), "bench.tick", {"n": number, "pad": "x" * 64}
                    )
                sent[(room, event.seq)] = time.perf_counter()
                await publisher.publish(f"exquisite:{room}", encode_events([event]))

            result = await drive(args, commit, clients, sent, per_room, rss_after - rss_before, process)
            await clients.close()
            await publisher.aclose()
        await conn.close()
        return result
    finally:
        await redis.kill()
        pg.stop()


async def _redis_client(url: str):
    import redis.asyncio as redis

    return redis.from_url(url)


async def _drain(clients: Clients, sent: dict, recipients: int) -> None:
    """Waits until every sent event has reached every recipient (bounded)."""
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        if all(len(clients.arrivals.get(key, [])) >= recipients for key in sent):
            return
        await asyncio.sleep(0.05)


async def make_rooms(url: str, rooms: int) -> tuple[list[str], list[str]]:
    tokens, room_ids = [], []
    async with httpx.AsyncClient(base_url=url, headers={"Origin": url}, timeout=60) as http:
        for index in range(USERS):
            http.cookies.clear()
            response = await http.post(
                "/api/auth/signup",
                json={"email": f"fan{index}@example.com", "password": PASSWORD, "display_name": f"Fan {index}"},
            )
            response.raise_for_status()
            tokens.append(http.cookies["exq_session"])
        for index in range(rooms):
            http.cookies.clear()
            http.cookies.set("exq_session", tokens[index % USERS])
            room = (await http.post("/api/rooms", json={"name": f"fanout {index}", "mode": "open"})).json()["room"]
            room_ids.append(room["id"])
    return tokens, room_ids


async def run_baseline(args) -> dict:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BARE_BROADCAST), str(port), stdout=asyncio.subprocess.PIPE
    )
    try:
        await process.stdout.readline()
        watched = psutil.Process(process.pid)
        rooms = [uuid.uuid4().hex for _ in range(args.rooms)]
        per_room = args.clients // args.rooms
        plan = [(f"ws://127.0.0.1:{port}/rooms/{room}", room, {}) for room in rooms for _ in range(per_room)]
        rss_before = watched.memory_info().rss
        clients = Clients()
        await open_all(clients, plan)
        rss_after = watched.memory_info().rss
        control = await connect(f"ws://127.0.0.1:{port}/control", compression=None)
        sent: dict[tuple[str, int], float] = {}
        seqs: dict[str, int] = {}

        async def send(number: int) -> None:
            room = rooms[number % len(rooms)]
            seqs[room] = seqs.get(room, 0) + 1
            frame = json.dumps(
                {
                    "type": "event",
                    "seq": seqs[room],
                    "kind": "bench.tick",
                    "data": {"n": number, "pad": "x" * 64},
                    "at": "2026-01-01T00:00:00+00:00",
                },
                separators=(",", ":"),
            )
            sent[(room, seqs[room])] = time.perf_counter()
            await control.send(json.dumps({"room": room, "frame": frame}))

        result = await drive(args, send, clients, sent, per_room, rss_after - rss_before, watched)
        await control.close()
        await clients.close()
        return result
    finally:
        process.kill()
        await process.wait()


def report(name: str, result: dict) -> str:
    lat = result["latency"]
    return (
        f"  {name:<26} {result['connections']:>6} sockets  p50 {statistics.median(lat):7.2f} ms"
        f"  p99 {percentile(lat, 0.99):7.2f} ms  memory/idle socket {result['memory'] / 1024:6.1f} KiB"
        f"  server CPU/frame {result['cpu_per_frame'] * 1e6:5.1f} us"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0, help="events committed per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--server-tree", type=Path, help="run the server of this source tree (e.g. `git archive HEAD`)")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory(prefix="exquisite-fanout-") as tmp:
        ours = await run_exquisite(Path(tmp), args)
    baseline = await run_baseline(args)
    print(
        f"{args.clients} clients over {args.rooms} rooms, {args.rate:g} events/s for {args.seconds:g} s,"
        f" {os.cpu_count()} cores"
    )
    print(report("exquisite (--server-tree)" if args.server_tree else "exquisite (this tree)", ours))
    print(report("bare websockets", baseline))
    p99 = percentile(ours["latency"], 0.99) / percentile(baseline["latency"], 0.99)
    print(f"  ratio p99 {p99:.2f}   ratio memory {ours['memory'] / baseline['memory']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
