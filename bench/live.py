"""The live feed while tiles paint: real steps through HTTP and sockets, watchers in their own
processes, at a list of offered rates, beside a bare `websockets.broadcast()` server in one run.

    uv run python bench/live.py                        # small default, about 2-3 minutes
    uv run python bench/live.py --rooms 100 --watchers 1000 --rates 5,10,20,30,40,60 --seconds 10
    uv run python bench/live.py --bus redis            # one instance on a real redis-server
    uv run python bench/live.py --bus two              # two instances on one Redis; players on
                                                       # the first, watchers on the second

What it does:
1. Embedded Postgres, a real `exquisite serve` (MOCK_DELAY_MS=0, T=--tile-size), one
   single-player room per player. Each player submits a step over HTTP and then waits on its
   room socket for the next `turn.changed` (as the client does: no polling). A pacer hands out
   submissions at the offered rate; a player still busy with its last step lets the token wait.
2. `--watchers` spectator sockets, spread over the rooms, opened by `--watcher-procs` separate
   processes. Each stamps the arrival of every `step.committed` frame against the event's `at`
   (the database's clock in TX2's statement of writes, which commits as it ends; with a
   --baseline-tree older than schema version 11, the clock at TX2's BEGIN), so the latency runs
   from the commit to the last watcher of that event. Once its sockets are open, a watcher
   process freezes its objects and turns its collector off: its own pauses (a full pass over 500
   sockets' objects took ~40 ms) fell on the trees and the bare server alike, at random.
   Each rate runs --seconds, or longer where that gives fewer than --min-steps steps. A p99 of a
   few hundred steps moves run to run on two shared cores: judge a rate by several runs.
3. Before the rates, --warmup-steps steps a room (caches and workers warm), then an idle phase
   (--idle-seconds, the sockets open and nothing painted; again after the rates, the two
   averaged) gives the servers' CPU at rest (keep-alives, the loop probe, periodic tasks), and
   the mock's painting alone is timed in this process before and after each rate, the two
   averaged for it (the median CPU of a call on a context with a neighbour, at T=--tile-size; for
   this tree with the allocator setting its pixel workers have, a baseline's first and without),
   so both are measured in the same minutes as the steps they are set against.
   Per rate: achieved steps/s, server CPU per committed step (the server processes and their
   children; in brackets the children alone, the pixel workers), the same net of the idle CPU
   over the phase's time, and that less the mock's painting (what a step costs the server
   beyond the image an offline generator makes), commit-to-last-watcher
   p50/p99, pool wait p99 (the server's exquisite_db_pool_wait_seconds histogram, when it has
   one), loop lag p99 (a ping/pong probe through the server's event loop every 20 ms), how busy
   the pixel pool was (the server's exquisite_pixel_busy_seconds over its workers' time, when it
   exports it), tile cache misses a step (each a PNG decoded; when exported), refusals (503
   busy), and the share of progress frames.
4. Then a bare websockets server (its own process), the same watcher processes, and the same
   rooms: after the same settling, warm-up (--warmup-steps frames a room) and idle phase as the
   trees, it broadcasts frames of the same size at each rate the real server achieved, stamped at
   send; its p99 and the ratio are printed beside.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import psutil
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playing import snake

import engine
from engine.generators import _mock_paint
from server.play.pixel_workers import keep_freed_memory
from server.settings import Settings
from storage import EmbeddedPostgres
from tests.servers import RedisServer, Served, free_port

PASSWORD = "benchmark password"
# The baseline: a bare websockets server that only broadcasts.
BARE_BROADCAST = Path(__file__).resolve().parent / "bare_broadcast.py"
WATCHER_USERS = 10
_WARMUP_RATE = 10.0  # steps/s


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- the watcher processes ---------------------------------------------------------------------


async def watcher_main() -> None:
    """Reads its plan on stdin, opens the sockets, says `ready`, records until `stop`, then
    prints {room:seq: [sockets reached, latest latency ms]} and frame figures as JSON."""
    plan = json.loads(sys.stdin.readline())
    latest: dict[str, list[float]] = {}
    frames: dict[str, list[int]] = {}
    sockets = []

    async def read(ws, room: str) -> None:
        try:
            async for message in ws:
                arrived = time.time()
                kind = message.split('"', 4)[3]
                figures = frames.setdefault(kind, [0, 0])
                figures[0] += 1
                figures[1] += len(message)
                if '"kind":"step.committed"' not in message:
                    continue
                body = json.loads(message)
                latency = (arrived - datetime.fromisoformat(body["at"]).timestamp()) * 1000
                entry = latest.setdefault(f"{room}:{body['seq']}", [0, 0.0])
                entry[0] += 1
                entry[1] = max(entry[1], latency)
        except Exception:  # noqa: BLE001 - a closed socket ends its reader, whatever the cause
            pass

    gate = asyncio.Semaphore(40)
    readers = []

    async def open_one(url: str, room: str, headers: dict) -> None:
        async with gate:
            ws = await connect(url, additional_headers=headers, compression=None, open_timeout=120, max_queue=64)
            sockets.append(ws)
            readers.append(asyncio.create_task(read(ws, room)))

    await asyncio.gather(*(open_one(*item) for item in plan))
    # A browser on another machine pauses on its own time, not the server's (the docstring, 2.).
    # What a watcher allocates while it records is small and mostly freed by reference counting.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"latest": latest, "frames": frames}), flush=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


class Watchers:
    """`count` processes, each holding a slice of the plan."""

    def __init__(self, plan: list[tuple[str, str, dict]], count: int) -> None:
        self.slices = [plan[i::count] for i in range(count)]

    async def __aenter__(self) -> Watchers:
        self.processes = []
        for part in self.slices:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--watch",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 26,
            )
            process.stdin.write((json.dumps(part) + "\n").encode())
            await process.stdin.drain()
            self.processes.append(process)
        for process in self.processes:
            line = await asyncio.wait_for(process.stdout.readline(), 300)
            if line.strip() != b"ready":
                raise SystemExit(f"a watcher process failed to start: {line!r}")
        return self

    async def results(self) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
        merged: dict[str, list[float]] = {}
        frames: dict[str, list[int]] = {}
        for process in self.processes:
            process.stdin.write(b"stop\n")
            await process.stdin.drain()
        for process in self.processes:
            body = json.loads(await asyncio.wait_for(process.stdout.readline(), 120))
            for key, (count, latency) in body["latest"].items():
                entry = merged.setdefault(key, [0, 0.0])
                entry[0] += count
                entry[1] = max(entry[1], latency)
            for kind, (count, size) in body["frames"].items():
                figures = frames.setdefault(kind, [0, 0])
                figures[0] += count
                figures[1] += size
        return merged, frames

    async def __aexit__(self, *exc_info) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()
            await process.wait()


# --- the players -------------------------------------------------------------------------------


class Player:
    def __init__(self, url: str, index: int, tile_size: int) -> None:
        self.url, self.index, self.tile_size = url, index, tile_size
        self.number = 0
        self.committed: list[tuple[str, float]] = []  # (room:seq, perf time the player saw it)
        self.refused = 0

    async def setup(self) -> None:
        # A connection idle for uvicorn's keep-alive (5 s) is closed by the server; reusing one
        # just then fails the POST (a race of the harness, not of the app): drop them sooner.
        self.http = httpx.AsyncClient(
            base_url=self.url,
            headers={"Origin": self.url},
            timeout=60,
            limits=httpx.Limits(keepalive_expiry=2.0),
        )
        response = await self.http.post(
            "/api/auth/signup",
            json={"email": f"live{self.index}@example.com", "password": PASSWORD, "display_name": f"L{self.index}"},
        )
        response.raise_for_status()
        body = {"name": f"live {self.index}", "mode": "open", "tile_size": self.tile_size, "max_steps": 64}
        room = (await self.http.post("/api/rooms", json=body)).json()["room"]
        room = (await self.http.post(f"/api/rooms/{room['id']}/start")).json()["room"]
        self.room_id = room["id"]
        self.nonce = room["turn"]["nonce"]
        self.cookie = self.http.cookies["exq_session"]
        headers = {"Origin": self.url, "Cookie": f"exq_session={self.cookie}"}
        socket_url = self.url.replace("http", "ws") + f"/ws/rooms/{self.room_id}?after={room['seq']}"
        self.ws = await connect(socket_url, additional_headers=headers, compression=None, max_queue=None)

    async def step(self) -> None:
        """One step: submit, then read the socket until the next turn."""
        if self.number >= 62:
            return
        request = {
            "json": {"turn_nonce": self.nonce, "prompt": f"step {self.number}", "direction": snake(self.number).value},
            "headers": {"Idempotency-Key": str(uuid.uuid4())},
        }
        try:
            response = await self.http.post(f"/api/rooms/{self.room_id}/steps", **request)
        except httpx.TransportError:
            # As the client does: the same key again, so a step that did start is not run twice.
            response = await self.http.post(f"/api/rooms/{self.room_id}/steps", **request)
        if response.status_code == 503:
            self.refused += 1
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            return
        if response.status_code != 202:
            raise SystemExit(f"step refused: {response.status_code} {response.text}")
        self.number += 1
        async for message in self.ws:
            frame = json.loads(message)
            kind = frame.get("kind")
            if kind == "step.committed":
                self.committed.append((f"{self.room_id}:{frame['seq']}", time.perf_counter()))
            elif kind == "step.aborted":
                raise SystemExit(f"step aborted: {frame}")
            elif kind == "turn.changed":
                self.nonce = frame["data"]["turn"]["nonce"]
                return

    async def close(self) -> None:
        await self.ws.close()
        await self.http.aclose()


async def run_phase(players: list[Player], rate: float, seconds: float) -> tuple[float, float]:
    """Offers `rate` steps/s for `seconds`, round-robin over idle players; returns (start, end)."""
    idle: asyncio.Queue[Player] = asyncio.Queue()
    for player in players:
        idle.put_nowait(player)
    tasks: set[asyncio.Task] = set()

    async def one(player: Player) -> None:
        try:
            await player.step()
        finally:
            idle.put_nowait(player)

    started = time.perf_counter()
    count = int(rate * seconds)
    for number in range(count):
        delay = started + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        player = await idle.get()  # a token waits for a free player rather than pile up
        task = asyncio.create_task(one(player))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    end = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return started, end


# --- probes ------------------------------------------------------------------------------------


class LoopProbe:
    """A socket that pings the server every 20 ms and keeps the pong delays."""

    def __init__(self, url: str, cookie: str, room_id: str) -> None:
        self.url, self.cookie, self.room_id = url, cookie, room_id
        self.delays: list[float] = []

    async def __aenter__(self) -> LoopProbe:
        headers = {"Origin": self.url, "Cookie": f"exq_session={self.cookie}"}
        self.ws = await connect(
            self.url.replace("http", "ws") + f"/ws/rooms/{self.room_id}", additional_headers=headers, max_queue=None
        )
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        pongs: asyncio.Queue[float] = asyncio.Queue()

        async def read() -> None:
            async for message in self.ws:
                if message == '{"type":"pong"}':
                    pongs.put_nowait(time.perf_counter())

        reader = asyncio.create_task(read())
        try:
            while True:
                sent = time.perf_counter()
                await self.ws.send('{"type":"ping"}')
                got = await pongs.get()
                self.delays.append((got - sent) * 1000)
                await asyncio.sleep(0.02)
        finally:
            reader.cancel()

    def take(self) -> list[float]:
        taken, self.delays = self.delays, []
        return taken

    async def __aexit__(self, *exc_info) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.ws.close()


def mock_paint_ms(tile_size: int, *, as_workers_run_it: bool, calls: int = 20) -> float:
    """The median CPU time of one call of the mock's painting at this tile size (this thread's
    time alone), on a context with the tile to its left, as a step's context has at least one.
    `as_workers_run_it`: with the allocator setting this tree's pixel workers start with (for good:
    so a baseline tree's painting, which runs on a server thread, is timed first)."""
    if as_workers_run_it:
        keep_freed_memory()
    empty = np.zeros((2 * tile_size, 2 * tile_size, 4), dtype=np.uint8)
    first = engine.cut_tile(_mock_paint.paint(empty, "a neighbour", 0).image, tile_size)
    context = engine.build_context({(-1, 0): first}, (0, 0), tile_size)
    times = []
    for seed in range(calls + 1):
        started = time.thread_time()
        _mock_paint.paint(context, "a bench", seed)
        times.append((time.thread_time() - started) * 1000)
    return statistics.median(times[1:])  # the first warms caches


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """CPU seconds of the server processes and their children (pixel workers) together, and of
    the children alone."""
    total = children = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for one in [process, *process.children(recursive=True)]:
                times = one.cpu_times()
                total += times.user + times.system
                children += 0.0 if one is process else times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total, children


class CpuClock:
    """The servers' CPU seconds between laps: (all of it, the pixel workers', wall seconds)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.cpu, self.wall = cpu_seconds(pids), time.perf_counter()

    def lap(self) -> tuple[float, float, float]:
        cpu, wall = cpu_seconds(self.pids), time.perf_counter()
        spent = (cpu[0] - self.cpu[0], cpu[1] - self.cpu[1], wall - self.wall)
        self.cpu, self.wall = cpu, wall
        return spent


_BUCKET = re.compile(r'^exquisite_db_pool_wait_seconds_bucket\{le="([^"]+)"\} (\S+)$', re.MULTILINE)


_PIXEL_BUSY = re.compile(r"^exquisite_pixel_busy_seconds_total (\S+)$", re.MULTILINE)
_TILE_MISSES = re.compile(r"^exquisite_tile_cache_misses_total (\S+)$", re.MULTILINE)
_PIXEL_WORKERS = re.compile(r"^exquisite_pixel_workers (\S+)$", re.MULTILINE)


async def scrape(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(f"{url}/metrics")).text


def pool_wait_buckets(text: str) -> dict[float, float] | None:
    found = {float(le): float(count) for le, count in _BUCKET.findall(text)}
    return found or None


def pixel_busy(text: str) -> tuple[float, float] | None:
    """(busy seconds, workers) of the pixel pool, when the server exports them."""
    busy, workers = _PIXEL_BUSY.search(text), _PIXEL_WORKERS.search(text)
    return (float(busy.group(1)), float(workers.group(1))) if busy and workers else None


def decodes_per_step(before: str, after: str, steps: int) -> float:
    """The tile cache's misses (each a PNG read and decoded) a step between two scrapes; NaN when
    the server does not export them."""
    found = [_TILE_MISSES.search(text) for text in (before, after)]
    if found[0] is None or found[1] is None:
        return float("nan")
    return (float(found[1].group(1)) - float(found[0].group(1))) / max(1, steps)


def pool_share(before: tuple[float, float] | None, after: tuple[float, float] | None, seconds: float) -> str:
    """How much of the pixel pool's time the phase kept busy."""
    if before is None or after is None or seconds <= 0:
        return "n/a"
    return f"{(after[0] - before[0]) / (after[1] * seconds) * 100:.0f}%"


def bucket_p99(before: dict[float, float] | None, after: dict[float, float] | None) -> str:
    if not before or not after:
        return "n/a"
    deltas = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = deltas[-1][1]
    if total <= 0:
        return "n/a"
    for le, count in deltas:
        if count >= 0.99 * total:
            return f"<={le * 1000:g} ms"
    return "n/a"


# --- the runs ----------------------------------------------------------------------------------


async def fresh_database(pg: EmbeddedPostgres, name: str) -> str:
    """An empty database; the server migrates it with its own schema.sql."""
    admin = await asyncpg.connect(pg.uri())
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    return pg.uri(name)


class TreeServed(Served):
    """Served, running the server code of another source tree (a baseline), when given one."""

    def __init__(self, data_dir: Path, tree: Path | None, **env) -> None:
        super().__init__(data_dir, **env)
        self.cwd = tree


async def watcher_tokens(url: str) -> list[str]:
    tokens = []
    async with httpx.AsyncClient(base_url=url, headers={"Origin": url}, timeout=60) as http:
        for index in range(WATCHER_USERS):
            http.cookies.clear()
            response = await http.post(
                "/api/auth/signup",
                json={"email": f"watch{index}@example.com", "password": PASSWORD, "display_name": f"W{index}"},
            )
            response.raise_for_status()
            tokens.append(http.cookies["exq_session"])
    return tokens


def summarise(latest: dict[str, list[float]], keys: list[str], recipients: dict[str, int]) -> tuple[list[float], int]:
    latencies, missing = [], 0
    for key in keys:
        count, latency = latest.get(key, [0, 0.0])
        if count < recipients[key.split(":")[0]]:
            missing += 1
            continue
        latencies.append(latency)
    return latencies, missing


async def run_exquisite(tmp: Path, args, tree: Path | None = None) -> list[dict]:
    pg = EmbeddedPostgres(tmp / "pg", delete_on_exit=True)
    pg.start()
    redis = await RedisServer().start() if args.bus != "memory" else None
    try:
        dsn = await fresh_database(pg, "live")
        env = dict(
            DATABASE_URL=dsn,
            AUTH_ATTEMPTS_PER_ADDRESS=1_000_000,
            STEPS_PER_MINUTE=1_000_000,
            # A thousand watchers on one address: the socket quotas would refuse all but 128.
            SOCKETS_PER_USER=1_000_000,
            SOCKETS_PER_ADDRESS=1_000_000,
            SIGNUP_CREDITS=100_000,
            MOCK_DELAY_MS=0,
            # The production guard, which the tests' servers leave off.
            BUSY_LOOP_LAG_MS=Settings.model_fields["busy_loop_lag_ms"].default,
            BUSY_POOL_WAIT_MS=Settings.model_fields["busy_pool_wait_ms"].default,
            BUSY_PIXEL_WAIT_MS=Settings.model_fields["busy_pixel_wait_ms"].default,
        )
        if redis is not None:
            env["REDIS_URL"] = redis.url
        env.update(item.split("=", 1) for item in args.env)
        servers = [TreeServed(tmp / "data", tree, **env)]
        if args.bus == "two":
            servers.append(TreeServed(tmp / "data", tree, **env))
        for server in servers:
            await server.__aenter__()
        try:
            front, back = servers[0], servers[-1]
            players = [Player(front.url, index, args.tile_size) for index in range(args.rooms)]
            gate = asyncio.Semaphore(10)

            async def setup(player: Player) -> None:
                async with gate:
                    await player.setup()

            await asyncio.gather(*(setup(player) for player in players))
            tokens = await watcher_tokens(back.url)
            plan = [
                (
                    f"{back.ws_url}/ws/rooms/{players[n % args.rooms].room_id}",
                    players[n % args.rooms].room_id,
                    {"Origin": back.url, "Cookie": f"exq_session={tokens[n % WATCHER_USERS]}"},
                )
                for n in range(args.watchers)
            ]
            recipients: dict[str, int] = {}
            for _, room, _ in plan:
                recipients[room] = recipients.get(room, 0) + 1
            pids = [server.process.pid for server in servers]
            phases = []
            async with (
                Watchers(plan, args.watcher_procs) as watchers,
                LoopProbe(front.url, players[0].cookie, players[0].room_id) as probe,
            ):
                await asyncio.sleep(2.0)  # the watchers' connection burst settles (and its 503 busy window)
                # Every room paints a few tiles first: each tree's caches, cached bases and workers
                # are warm before anything is measured, so the first rate is not charged for them.
                await run_phase(players, _WARMUP_RATE, args.warmup_steps * len(players) / _WARMUP_RATE)
                # Timed alone before and after each rate, and the two averaged: the host's speed
                # drifts by 10-20% over minutes, and a figure taken once before the idle phase
                # was as far from the rate's own as the margin being measured.
                mock_before = mock_paint_ms(args.tile_size, as_workers_run_it=tree is None)
                clock = CpuClock(pids)
                await asyncio.sleep(args.idle_seconds)
                idle_total, _, idle_wall = clock.lap()
                for rate in args.rates:
                    seen = [len(player.committed) for player in players]
                    refused = sum(player.refused for player in players)
                    clock.lap()
                    scraped = await scrape(front.url)
                    probe.take()
                    started, ended = await run_phase(players, rate, phase_seconds(args, rate))
                    elapsed = max(ended, time.perf_counter()) - started
                    rescraped = await scrape(front.url)
                    total, workers, wall = clock.lap()
                    # The watchers take the last steps' frames before a core goes to timing the mock.
                    await asyncio.sleep(0.5)
                    mock_after = mock_paint_ms(args.tile_size, as_workers_run_it=tree is None)
                    mock_ms, mock_before = (mock_before + mock_after) / 2, mock_after
                    keys = [key for p, n in zip(players, seen, strict=True) for key, _ in p.committed[n:]]
                    per_step = 1000 / max(1, len(keys))
                    phases.append(
                        {
                            "rate": rate,
                            "steps": len(keys),
                            "achieved": len(keys) / elapsed,
                            "cpu_ms": [total * per_step, workers * per_step],
                            "cpu_seconds": (total, wall, per_step),
                            "mock_ms": mock_ms,
                            "keys": keys,
                            "pool_wait": bucket_p99(pool_wait_buckets(scraped), pool_wait_buckets(rescraped)),
                            "pixel_busy": pool_share(pixel_busy(scraped), pixel_busy(rescraped), elapsed),
                            "decodes": decodes_per_step(scraped, rescraped, len(keys)),
                            "loop_lag": percentile(probe.take(), 0.99),
                            "refused": sum(player.refused for player in players) - refused,
                        }
                    )
                # At rest again once the last steps are through, as the mock is timed: the CPU the
                # servers spend at rest over a rate's time (the mean of the two) is not the steps'.
                await asyncio.sleep(2.0)
                clock.lap()
                await asyncio.sleep(args.idle_seconds)
                idle_after, _, idle_after_wall = clock.lap()
                at_rest = (idle_total / idle_wall, idle_after / idle_after_wall)
                for phase in phases:
                    total, wall, per_step = phase.pop("cpu_seconds")
                    phase["net_cpu_ms"] = (total - sum(at_rest) / 2 * wall) * per_step
                    phase["at_rest"] = at_rest
                latest, frames = await watchers.results()
            for phase in phases:
                phase["latency"], phase["missing"] = summarise(latest, phase.pop("keys"), recipients)
            total_frames = sum(count for count, _ in frames.values()) or 1
            total_bytes = sum(size for _, size in frames.values()) or 1
            progress = frames.get("progress", [0, 0])
            phases[0]["frames"] = (progress[0] / total_frames, progress[1] / total_bytes)
            for player in players:
                await player.close()
            return phases
        finally:
            for server in servers:
                await server.__aexit__(None, None, None)
    finally:
        if redis is not None:
            await redis.kill()
        pg.stop()


def phase_seconds(args, rate: float) -> float:
    """How long a rate runs: --seconds, or long enough for --min-steps steps (a p99 of 75 steps,
    5 steps/s for 15 s, is their maximum, and it set the knee's bound)."""
    return max(args.seconds, args.min_steps / rate)


async def run_bare(args, rates: list[float]) -> list[list[float]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BARE_BROADCAST), str(port), stdout=asyncio.subprocess.PIPE
    )
    try:
        await process.stdout.readline()
        rooms = [str(uuid.uuid4()) for _ in range(args.rooms)]
        plan = [
            (f"ws://127.0.0.1:{port}/rooms/{rooms[n % args.rooms]}", rooms[n % args.rooms], {})
            for n in range(args.watchers)
        ]
        recipients: dict[str, int] = {}
        for _, room, _ in plan:
            recipients[room] = recipients.get(room, 0) + 1
        async with Watchers(plan, args.watcher_procs) as watchers:
            control = await connect(f"ws://127.0.0.1:{port}/control", compression=None)
            seqs: dict[str, int] = {}
            # As each tree is: settled, warmed up by the same frames a room, then idle, so that the
            # first rate's baseline is not charged for the connection burst (it was: p99 ~29 ms).
            await asyncio.sleep(2.0)
            await broadcast_frames(control, rooms, seqs, _WARMUP_RATE, args.warmup_steps * len(rooms))
            await asyncio.sleep(args.idle_seconds)
            sent_by_rate = [
                await broadcast_frames(control, rooms, seqs, rate, max(1, int(rate * phase_seconds(args, rate))))
                for rate in rates
            ]
            await asyncio.sleep(1.0)
            await control.close()
            latest, _ = await watchers.results()
        return [summarise(latest, keys, recipients)[0] for keys in sent_by_rate]
    finally:
        process.kill()
        await process.wait()


async def broadcast_frames(control, rooms: list[str], seqs: dict[str, int], rate: float, count: int) -> list[str]:
    """`count` step.committed-sized frames through the bare server at `rate`, the rooms in turn:
    the keys (room:seq) the watchers report them by."""
    keys = []
    pad = "x" * 300
    started = time.perf_counter()
    for number in range(count):
        delay = started + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        room = rooms[number % len(rooms)]
        seqs[room] = seqs.get(room, 0) + 1
        frame = f'{{"type":"event","seq":{seqs[room]},"kind":"step.committed","data":{{"pad":"{pad}"}},"at":"@AT@"}}'
        keys.append(f"{room}:{seqs[room]}")
        await control.send(json.dumps({"room": room, "frame": frame}))
    return keys


def knee(phases: list[dict]) -> float | None:
    """The highest achieved rate whose p99 stays within 2x of the first (lowest) rate's."""
    if not phases or not phases[0]["latency"]:
        return None
    base = percentile(phases[0]["latency"], 0.99)
    best = None
    for phase in phases:
        if phase["latency"] and percentile(phase["latency"], 0.99) <= 2 * base:
            best = phase["achieved"]
    return best


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--watcher-procs", type=int, default=2)
    parser.add_argument("--rates", default="5,10,20,40", help="offered steps/s, comma separated")
    parser.add_argument("--seconds", type=float, default=6.0, help="per rate")
    parser.add_argument(
        "--min-steps", type=int, default=300, help="per rate: a slow rate runs longer, so its p99 is not its maximum"
    )
    parser.add_argument("--tile-size", type=int, default=256)
    parser.add_argument("--warmup-steps", type=int, default=2, help="per room, before anything is measured")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="each idle phase, before and after the rates")
    parser.add_argument("--bus", choices=["memory", "redis", "two"], default="memory")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare websockets baseline")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="a setting for the servers (repeatable)"
    )
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="also run, first and in the same run, the server of this source tree (e.g. `git archive HEAD`)",
    )
    args = parser.parse_args()
    if args.watch:
        await watcher_main()
        return
    args.rates = [float(rate) for rate in args.rates.split(",")]
    if sum(rate * phase_seconds(args, rate) for rate in args.rates) / args.rooms + args.warmup_steps > 60:
        raise SystemExit("too many steps per room for an 8 x 8 extent: add rooms or shorten --seconds")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs: list[tuple[str, list[dict]]] = []
    if args.baseline_tree:
        with tempfile.TemporaryDirectory(prefix="exquisite-live-") as tmp:
            runs.append((f"baseline ({args.baseline_tree})", await run_exquisite(Path(tmp), args, args.baseline_tree)))
    with tempfile.TemporaryDirectory(prefix="exquisite-live-") as tmp:
        runs.append(("this tree", await run_exquisite(Path(tmp), args)))
    achieved = [max(0.5, phase["achieved"]) for _, phases in runs for phase in phases]
    bare = [] if args.no_bare else await run_bare(args, achieved)
    print(
        f"bench/live.py  bus={args.bus}  T={args.tile_size}  {args.rooms} rooms  {args.watchers} watchers"
        f" in {args.watcher_procs} processes  {args.seconds:g} s per rate (at least {args.min_steps} steps)"
        f"  {os.cpu_count()} cores"
    )
    offset = 0
    for name, phases in runs:
        print(f" {name}")
        print(
            "  offered  achieved  cpu/step (workers)  net of idle  less mock   c2l p50   c2l p99   pool wait p99"
            "   loop lag p99  pixels  decodes  503s  missed   bare p99   ratio"
        )
        for phase in phases:
            lat = phase["latency"]
            p99 = percentile(lat, 0.99)
            bare_p99 = percentile(bare[offset], 0.99) if bare else float("nan")
            offset += 1
            print(
                f"  {phase['rate']:7g}  {phase['achieved']:8.1f}"
                f"  {phase['cpu_ms'][0]:6.1f} ms ({phase['cpu_ms'][1]:5.1f} ms)"
                f"  {phase['net_cpu_ms']:8.1f} ms  {phase['net_cpu_ms'] - phase['mock_ms']:6.1f} ms"
                f"  {percentile(lat, 0.5):6.1f} ms  {p99:6.1f} ms  {phase['pool_wait']:>13}"
                f"  {phase['loop_lag']:9.1f} ms  {phase['pixel_busy']:>6}  {phase['decodes']:7.2f}"
                f"  {phase['refused']:4d}  {phase['missing']:6d}"
                f"  {bare_p99:6.1f} ms  {p99 / bare_p99:6.2f}"
            )
        share = phases[0].get("frames", (0.0, 0.0))
        mocks = ", ".join(f"{phase['mock_ms']:.1f}" for phase in phases)
        print(
            f"  at rest: {phases[0]['at_rest'][0] * 100:.1f}% of a core before the rates,"
            f" {phases[0]['at_rest'][1] * 100:.1f}% after;"
            f" the mock's painting, rate by rate: {mocks} ms of CPU a call"
        )
        print(f"  knee (p99 within 2x of the first rate's): {knee(phases) or 0:.1f} steps/s achieved")
        print(f"  progress frames: {share[0] * 100:.1f}% of watcher frames, {share[1] * 100:.1f}% of their bytes")


if __name__ == "__main__":
    asyncio.run(main())
