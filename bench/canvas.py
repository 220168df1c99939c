"""The canvas of the largest room through HTTP: peak RSS and time for 1, 4 and 8 concurrent fetches,
before (the first render) and after (kept as a blob), at the default size and at full size.

    uv run python bench/canvas.py                  # builds the room by real steps, ~1-2 minutes
    uv run python bench/canvas.py --sizes 2048     # the default size only

1. Embedded Postgres and a real `exquisite serve` (MOCK_DELAY_MS=0). One player plays a T=1024
   room over the whole 8 x 8 extent (64 real steps over HTTP, in a snake) until it finishes.
2. For each size and each concurrency (1, 4, 8): the kept canvases are forgotten (their rows
   deleted, so the next fetch renders again, as the first one after the finish did), the fetches
   run together ("before"), then the same number again ("after", served from the blob). The
   server process's RSS is sampled every 5 ms; "adds" is its peak minus its RSS just before.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peak_rss import PeakRss
from playing import play_room

from storage import EmbeddedPostgres
from tests.servers import Served

MIB = 1024 * 1024


async def build_room(http: httpx.AsyncClient) -> str:
    """A T=1024 room played to its end over the whole 8 x 8 extent by real steps."""
    return await play_room(
        http, email="canvas@example.com", display_name="Canvas", room_name="largest", tiles=64, tile_size=1024
    )


async def fetch_together(http: httpx.AsyncClient, url: str, count: int, pid: int) -> tuple[float, float, float, int]:
    """(seconds, RSS before, RSS peak, bytes of one answer) for `count` fetches at once."""
    async with PeakRss(pid) as rss:
        started = time.perf_counter()
        answers = await asyncio.gather(*(http.get(url) for _ in range(count)))
        seconds = time.perf_counter() - started
    if any(answer.status_code != 200 for answer in answers) or len({a.content for a in answers}) != 1:
        raise SystemExit(f"bad answers: {[a.status_code for a in answers]}")
    return seconds, rss.before / MIB, rss.peak / MIB, len(answers[0].content)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2048,full", help="values of ?max= to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-canvas-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        try:
            admin = await asyncpg.connect(pg.uri())
            await admin.execute("CREATE DATABASE canvas")
            await admin.close()
            dsn = pg.uri("canvas")
            env = {"DATABASE_URL": dsn, "SIGNUP_CREDITS": 1000, "AUTH_ATTEMPTS_PER_ADDRESS": 1000}
            async with Served(Path(tmp) / "data", **env) as server:
                try:
                    await run(server, dsn, args.sizes.split(","))
                finally:
                    server.process.terminate()
                    await server.process.wait()
        finally:
            pg.stop()


async def run(server: Served, dsn: str, sizes: list[str]) -> None:
    pid = server.process.pid
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=300) as http:
        print("building a T=1024 room over the 8 x 8 extent by real steps")
        room_id = await build_room(http)
        db = await asyncpg.connect(dsn)
        print(f"server RSS after the game: {psutil.Process(pid).memory_info().rss / MIB:.0f} MiB\n")
        print(f"{'size':>5} {'phase':>7} {'fetches':>7} {'seconds':>8} {'RSS before':>10} {'peak':>6} {'adds':>6}  PNG")
        cached_adds = {}
        for size in sizes:
            url = f"/api/rooms/{room_id}/canvas.png?max={size}"
            for count in (1, 4, 8):
                await db.execute("DELETE FROM canvases")  # forgotten: the next fetch renders
                for phase in ("before", "after"):
                    seconds, before, peak, length = await fetch_together(http, url, count, pid)
                    print(
                        f"{size:>5} {phase:>7} {count:>7} {seconds:>8.2f} {before:>8.0f} M {peak:>4.0f} M"
                        f" {peak - before:>4.0f} M  {length / MIB:.1f} MiB"
                    )
                    if phase == "after" and count == 8:
                        cached_adds[size] = peak - before
        for size, adds in cached_adds.items():
            verdict = "under" if adds < 50 else "NOT under"
            print(f"max={size}: 8 concurrent fetches of the kept canvas add {adds:.0f} MiB, {verdict} 50 MiB")
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
