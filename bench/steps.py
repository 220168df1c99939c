"""Steps per second through a real server, beside the database's own ceiling, in one run.

    uv run python bench/steps.py [--rooms 10] [--steps 30]

1. A real `exquisite serve` (embedded Postgres, MOCK_DELAY_MS=0, T=256) driven over HTTP: one
   single-player room per client, each client taking its turns back to back (submit over HTTP,
   then wait on the room's websocket for the next turn). Prints steps/s and, from the database's own timestamps, the p50
   and p99 of a step's time outside the generator (finished_at - created_at - generator_ms).
2. The ceiling: the same two transactions per step (server.steps.submit's TX1 and
   server.steps.commit's TX2) issued directly with asyncpg from this process, no HTTP, no
   generator, no blob; then the ratio between the two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playing import snake

from server.play import step as step_machine
from server.play.turns import advance_turn
from server.settings import Settings
from storage import Database, EmbeddedPostgres, accounts, credits, database, members, rooms
from storage.events import EventKind
from storage.rooms import RoomMode, RoomStatus

PASSWORD = "benchmark password"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def fresh_database(server: EmbeddedPostgres, name: str) -> str:
    admin = await asyncpg.connect(server.uri())
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    conn = await asyncpg.connect(server.uri(name))
    await database.migrate(conn)
    await conn.close()
    return server.uri(name)


async def start_server(dsn: str, data_dir: Path, port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "MOCK_DELAY_MS": "0",
        "SIGNUP_CREDITS": "100000",
        "AUTH_ATTEMPTS_PER_ADDRESS": "100000",
        "STEPS_PER_MINUTE": "100000",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    while b"Application startup complete" not in (line := await process.stderr.readline()):
        if not line:
            raise SystemExit("the server did not start")

    async def drain():
        while await process.stderr.readline():
            pass

    process.drain = asyncio.create_task(drain())  # type: ignore[attr-defined]
    return process


async def play_over_http(url: str, index: int, steps: int) -> None:
    """One player in a single-player room: submits a step, learns from the room socket that it
    committed and what the next turn's nonce is, and goes again."""
    async with httpx.AsyncClient(base_url=url, headers={"Origin": url}, timeout=60) as http:
        await http.post(
            "/api/auth/signup",
            json={"email": f"bench{index}@example.com", "password": PASSWORD, "display_name": f"B{index}"},
        )
        room = (
            await http.post(
                "/api/rooms", json={"name": f"bench {index}", "mode": "open", "tile_size": 256, "max_steps": 64}
            )
        ).json()["room"]
        room = (await http.post(f"/api/rooms/{room['id']}/start")).json()["room"]
        headers = {"Origin": url, "Cookie": f"exq_session={http.cookies['exq_session']}"}
        socket_url = url.replace("http", "ws") + f"/ws/rooms/{room['id']}?after={room['seq']}"
        async with connect(socket_url, additional_headers=headers, compression=None) as ws:
            nonce = room["turn"]["nonce"]
            for number in range(steps):
                direction = snake(number)
                response = await http.post(
                    f"/api/rooms/{room['id']}/steps",
                    json={"turn_nonce": nonce, "prompt": f"step {number}", "direction": direction.value},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                if response.status_code != 202:
                    raise SystemExit(f"step refused: {response.text}")
                async for message in ws:
                    frame = json.loads(message)
                    if frame.get("kind") == "step.aborted":
                        raise SystemExit(f"step aborted: {frame}")
                    if frame.get("kind") == "turn.changed":
                        nonce = frame["data"]["turn"]["nonce"]
                        break


async def http_phase(dsn: str, data_dir: Path, rooms_count: int, steps: int) -> tuple[float, list[float]]:
    port = 18000 + os.getpid() % 1000
    process = await start_server(dsn, data_dir, port)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(play_over_http(f"http://127.0.0.1:{port}", i, steps) for i in range(rooms_count)))
        elapsed = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    conn = await asyncpg.connect(dsn)
    rows = await conn.fetch(
        """SELECT extract(epoch FROM finished_at - created_at) * 1000 - generator_ms AS outside
           FROM steps WHERE status = 'committed'"""
    )
    await conn.close()
    return rooms_count * steps / elapsed, [row["outside"] for row in rows]


async def db_phase(dsn: str, rooms_count: int, steps: int) -> float:
    settings = Settings(_env_file=None, database_url=dsn, signup_credits=100000)
    async with Database(dsn, min_size=rooms_count, max_size=rooms_count + 2) as db:
        players = []
        async with db.acquire() as conn:
            for index in range(rooms_count):
                async with conn.transaction():
                    user = await accounts.insert_user(
                        conn, email=f"db{index}@example.com", password_hash="x", display_name="D"
                    )
                    await credits.post_credits(conn, user.id, 100000, credits.LedgerKind.SIGNUP_GRANT)
                    room = await rooms.insert_room(
                        conn,
                        name="db",
                        mode=RoomMode.OPEN,
                        tile_size=256,
                        max_steps=64,
                        max_members=8,
                        turn_seconds=None,
                        host_id=user.id,
                        invite_code="x",
                    )
                    await members.insert_member(conn, room.id, user.id)
                    await rooms.set_status(conn, room, RoomStatus.PLAYING)
                    await advance_turn(conn, room, settings, EventKind.TURN_CHANGED)
                players.append((user, room.id))

        async def play(user, room_id) -> None:
            for number in range(steps):
                async with db.acquire() as conn:
                    room = await rooms.room_by_id(conn, room_id)
                request = step_machine.StepRequest(room.turn.nonce, f"step {number}", snake(number))
                step, _, _ = await step_machine.submit(db, settings, room_id, user, str(uuid.uuid4()), request)
                await step_machine.commit(db, settings, step, f"{number:064x}", 1.0, 0)

        started = time.perf_counter()
        await asyncio.gather(*(play(user, room_id) for user, room_id in players))
        return rooms_count * steps / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    if args.steps > 63:
        raise SystemExit("at most 63 steps per room fit an 8 x 8 extent")
    with tempfile.TemporaryDirectory(prefix="exquisite-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg", delete_on_exit=True)
        server.start()
        try:
            http_dsn = await fresh_database(server, "bench_http")
            db_dsn = await fresh_database(server, "bench_db")
            http_rate, outside = await http_phase(http_dsn, Path(tmp) / "data", args.rooms, args.steps)
            db_rate = await db_phase(db_dsn, args.rooms, args.steps)
        finally:
            server.stop()
    print(f"{args.rooms} rooms x {args.steps} steps, T=256, MOCK_DELAY_MS=0, {os.cpu_count()} cores")
    print(f"  through the server (HTTP)    {http_rate:8.1f} steps/s")
    print(f"  database ceiling (TX1+TX2)   {db_rate:8.1f} steps/s")
    print(f"  ratio server / ceiling       {http_rate / db_rate:8.2f}")
    print(
        f"  step time outside generator  p50 {statistics.median(outside):.1f} ms"
        f"  p99 {percentile(outside, 0.99):.1f} ms  (n={len(outside)})"
    )


if __name__ == "__main__":
    asyncio.run(main())
