"""A bounded burst against a real `exquisite serve`: what the quotas refuse, and the server's peak RSS.

    uv run python bench/burst.py                 # about a minute
    uv run python bench/burst.py --sign-ins 96 --sockets 400 --rooms 200

What it does, against one server with production's argon2 costs (64 MiB per hash) and default
quotas, behind a pretend proxy (TRUSTED_PROXY_HOPS=1, the bench writes X-Forwarded-For):
1. sign-ins: `--sign-ins` wrong passwords at once for one victim, each from its own address
   (the spread attack of finding 6), then the same number from ONE address whose client-written
   left-most X-Forwarded-For entry changes every time (finding 5's spoof); then the victim signs
   in from a fresh address, which must work.
2. sockets: `--sockets` room sockets at once for one user (`SOCKETS_PER_USER`), then as many
   spread over 8 users from one address (`SOCKETS_PER_ADDRESS`).
3. rooms: `--rooms` room creations at once by one user (`LOBBY_ROOMS_PER_USER`, `ROOMS_PER_HOUR`).
The server's RSS is sampled every 5 ms throughout; the bench fails if the peak reaches 300 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import psutil
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peak_rss import PeakRss

from server.http.sessions import SESSION_COOKIE
from storage import EmbeddedPostgres
from tests.servers import Served

MIB = 1024 * 1024
BOUND_MIB = 300
PASSWORD = "the victim's real password"
PRODUCTION_PASSWORDS = {"PASSWORD_TIME_COST": 3, "PASSWORD_MEMORY_KIB": 65536, "PASSWORD_PARALLELISM": 4}


def outcome(response: httpx.Response) -> str:
    if response.status_code < 400:
        return str(response.status_code)
    return f"{response.status_code} {response.json()['error']['code']}"


async def sign_ins(server: Served, count: int, email: str) -> list[tuple[str, collections.Counter]]:
    wrong = {"email": email, "password": "a wrong guess"}
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=120) as http:

        async def attempt(forwarded: str, body: dict) -> str:
            return outcome(await http.post("/api/auth/login", json=body, headers={"X-Forwarded-For": forwarded}))

        spread = await asyncio.gather(*(attempt(f"198.18.{n // 250}.{n % 250 + 1}", wrong) for n in range(count)))
        spoofed = await asyncio.gather(
            *(attempt(f"10.9.{n // 250}.{n % 250}, 203.0.113.66", wrong) for n in range(count))
        )
        owner = await attempt("192.0.2.200", {"email": email, "password": PASSWORD})
    return [
        (f"{count} wrong sign-ins for one email, each from its own address", collections.Counter(spread)),
        (f"{count} wrong sign-ins from one address, left-most X-Forwarded-For spoofed", collections.Counter(spoofed)),
        ("then the owner's right password from a fresh address", collections.Counter([owner])),
    ]


async def open_sockets(server: Served, tokens: list[str], room_id: str, count: int) -> collections.Counter:
    """Opens `count` sockets at once, spread over the tokens; counts what each got, then closes all."""
    opened, outcomes = [], collections.Counter()

    async def one(token: str) -> None:
        headers = {"Origin": server.url, "Cookie": f"{SESSION_COOKIE}={token}", "X-Forwarded-For": "203.0.113.7"}
        try:
            ws = await connect(f"{server.ws_url}/ws/rooms/{room_id}", additional_headers=headers, compression=None)
        except InvalidStatus as refused:
            code = json.loads(refused.response.body)["error"]["code"]
            outcomes[f"{refused.response.status_code} {code}"] += 1
            return
        opened.append(ws)
        first = json.loads(await asyncio.wait_for(ws.recv(), 60))
        outcomes["open" if first["type"] == "snapshot" else first["type"]] += 1

    await asyncio.gather(*(one(tokens[n % len(tokens)]) for n in range(count)))
    await asyncio.gather(*(ws.close() for ws in opened))
    return outcomes


async def create_rooms(server: Served, token: str, count: int) -> collections.Counter:
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=60) as http:
        http.cookies.set(SESSION_COOKIE, token)
        answers = await asyncio.gather(
            *(http.post("/api/rooms", json={"name": f"Burst {n}", "mode": "open"}) for n in range(count))
        )
    return collections.Counter(outcome(answer) for answer in answers)


async def users(server: Served, count: int) -> list[str]:
    """Signs up `count` users (the first is the victim); returns their session tokens."""
    tokens = []
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=120) as http:
        for n in range(count):
            body = {"email": f"burst{n}@example.com", "password": PASSWORD, "display_name": f"Burst {n}"}
            response = await http.post("/api/auth/signup", json=body, headers={"X-Forwarded-For": f"192.0.2.{n + 1}"})
            if response.status_code != 201:
                raise SystemExit(f"signup: {response.status_code} {response.text}")
            tokens.append(response.cookies[SESSION_COOKIE])
            http.cookies.clear()
    return tokens


async def run(server: Served, args: argparse.Namespace) -> int:
    pid = server.process.pid
    tokens = await users(server, 8)
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
        http.cookies.set(SESSION_COOKIE, tokens[0])
        room = (await http.post("/api/rooms", json={"name": "Watched", "mode": "open"})).json()["room"]
    print(f"server RSS at rest: {psutil.Process(pid).memory_info().rss / MIB:.0f} MiB\n")

    async def sockets() -> list[tuple[str, collections.Counter]]:
        return [
            (
                f"{args.sockets} room sockets at once, one user",
                await open_sockets(server, tokens[:1], room["id"], args.sockets),
            ),
            (
                f"{args.sockets} room sockets at once, 8 users, one address",
                await open_sockets(server, tokens, room["id"], args.sockets),
            ),
        ]

    async def rooms() -> list[tuple[str, collections.Counter]]:
        return [(f"{args.rooms} room creations at once, one user", await create_rooms(server, tokens[1], args.rooms))]

    phases = {
        "sign-ins": lambda: sign_ins(server, args.sign_ins, "burst0@example.com"),
        "sockets": sockets,
        "rooms": rooms,
    }
    async with PeakRss(pid) as overall:
        for phase, burst in phases.items():
            async with PeakRss(pid) as rss:
                started = time.perf_counter()
                rows = await burst()
                seconds = time.perf_counter() - started
            print(f"{phase}: {seconds:.1f} s, server RSS peak {rss.peak / MIB:.0f} MiB")
            for label, counts in rows:
                print(f"  {label}: " + ", ".join(f"{n} x {what}" for what, n in sorted(counts.items())))
    print(f"\nserver RSS peak over the whole burst: {overall.peak / MIB:.0f} MiB (bound {BOUND_MIB} MiB)")
    return 0 if overall.peak < BOUND_MIB * MIB else 1


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sign-ins", type=int, default=48)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        try:
            admin = await asyncpg.connect(pg.uri())
            await admin.execute("CREATE DATABASE burst")
            await admin.close()
            env = {"DATABASE_URL": pg.uri("burst"), "TRUSTED_PROXY_HOPS": 1, **PRODUCTION_PASSWORDS}
            async with Served(Path(tmp) / "data", **env) as server:
                try:
                    return await run(server, args)
                finally:
                    server.process.terminate()
                    await server.process.wait()
        finally:
            pg.stop()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
