"""Memory per idle room socket on one server process, and the feed still working at that count.

    uv run python bench/idle_sockets.py                         # N = 1,000 then 10,000
    uv run python bench/idle_sockets.py --sockets 2000 --procs 2 --baseline-tree /tmp/base

For each N, a fresh `exquisite serve` (embedded Postgres, the in-process bus, one process):
1. a player signs up, creates `--rooms` rooms and starts one of them (the stage), and opens its
   own socket on the stage; ten spectators sign up. The server's RSS is read (before).
2. N spectator sockets, spread evenly over the rooms, are opened by `--procs` client processes
   (each raises its file limit); each socket reads its first frame (a snapshot). Once every
   socket is open and the server has been idle for `--settle` seconds, its RSS is read again
   (after): (after - before) / N is the memory per idle socket.
3. The player submits a step on the stage: every stage socket must receive its `step.committed`
   and `turn.changed` (their latency from the commit's `at` is printed), and every socket must
   still be open.
`--baseline-tree` also runs, first, the server of another source tree (e.g. `git archive HEAD`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live import TreeServed, fresh_database, watcher_tokens
from engine import Direction
from storage import EmbeddedPostgres

PASSWORD = "benchmark password"


def raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the client processes ----------------------------------------------------------------------


async def holder_main() -> None:
    """Reads its plan on stdin, opens the sockets, says `ready`, then answers `report` lines
    with {"open": sockets still open, "seen": {room: {kind: sockets, ...}}, "latency": ms}."""
    raise_file_limit()
    plan = json.loads(sys.stdin.readline())
    sockets = []
    seen: dict[str, dict[str, int]] = {}
    latency = [0.0]

    async def read(ws, room: str) -> None:
        try:
            async for message in ws:
                if '"type":"event"' not in message:
                    continue
                body = json.loads(message)
                kinds = seen.setdefault(room, {})
                kinds[body["kind"]] = kinds.get(body["kind"], 0) + 1
                if body["kind"] == "step.committed":
                    late = (time.time() - datetime.fromisoformat(body["at"]).timestamp()) * 1000
                    latency[0] = max(latency[0], late)
        except Exception:  # noqa: BLE001 - a closed socket ends its reader, whatever the cause
            pass

    gate = asyncio.Semaphore(50)
    readers = []

    async def open_one(url: str, room: str, headers: dict) -> None:
        async with gate:
            ws = await connect(url, additional_headers=headers, compression=None, open_timeout=300, max_queue=16)
            first = json.loads(await ws.recv())
            if first["type"] != "snapshot":
                raise SystemExit(f"expected a snapshot, got {first}")
            sockets.append(ws)
            readers.append(asyncio.create_task(read(ws, room)))

    await asyncio.gather(*(open_one(*item) for item in plan))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "report":
        still_open = sum(1 for ws in sockets if ws.close_code is None)
        print(json.dumps({"open": still_open, "seen": seen, "latency": latency[0]}), flush=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


class Holders:
    """`count` client processes, each holding a slice of the plan."""

    def __init__(self, plan: list[tuple[str, str, dict]], count: int) -> None:
        self.slices = [plan[i::count] for i in range(count)]
        self.processes: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> Holders:
        for part in self.slices:
            process = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--hold", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
            process.stdin.write((json.dumps(part) + "\n").encode())
            await process.stdin.drain()
            self.processes.append(process)
        for process in self.processes:
            line = await asyncio.wait_for(process.stdout.readline(), 900)
            if line.strip() != b"ready":
                raise SystemExit(f"a client process failed to open its sockets: {line!r}")
        return self

    async def report(self) -> tuple[int, dict[str, dict[str, int]], float]:
        still_open, seen, latency = 0, {}, 0.0
        for process in self.processes:
            process.stdin.write(b"report\n")
            await process.stdin.drain()
        for process in self.processes:
            body = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
            still_open += body["open"]
            latency = max(latency, body["latency"])
            for room, kinds in body["seen"].items():
                for kind, count in kinds.items():
                    seen.setdefault(room, {})[kind] = seen.get(room, {}).get(kind, 0) + count
        return still_open, seen, latency

    async def __aexit__(self, *exc_info) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.stdin.write(b"stop\n")
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- the server side ---------------------------------------------------------------------------


async def make_stage(url: str, rooms: int) -> tuple[httpx.AsyncClient, list[dict]]:
    """The player's client and its rooms, the first of them started (the stage)."""
    http = httpx.AsyncClient(base_url=url, headers={"Origin": url}, timeout=120)
    body = {"email": "player@example.com", "password": PASSWORD, "display_name": "Player"}
    (await http.post("/api/auth/signup", json=body)).raise_for_status()
    made = []
    for index in range(rooms):
        response = await http.post("/api/rooms", json={"name": f"idle {index}", "mode": "open", "max_steps": 64})
        response.raise_for_status()
        made.append(response.json()["room"])
    started = await http.post(f"/api/rooms/{made[0]['id']}/start")
    started.raise_for_status()
    made[0] = started.json()["room"]
    return http, made


async def one_step(http: httpx.AsyncClient, ws_url: str, stage: dict) -> float:
    """Submits a step on the stage and reads the player's own socket until the next turn;
    returns the seconds from the submission to `turn.changed`."""
    cookie = http.cookies["exq_session"]
    headers = {"Origin": str(http.base_url).rstrip("/"), "Cookie": f"exq_session={cookie}"}
    url = f"{ws_url}/ws/rooms/{stage['id']}?after={stage['seq']}"
    async with connect(url, additional_headers=headers, compression=None, max_queue=None) as ws:
        started = time.perf_counter()
        while True:
            response = await http.post(
                f"/api/rooms/{stage['id']}/steps",
                json={"turn_nonce": stage["turn"]["nonce"], "prompt": "a harbour", "direction": Direction.DOWN.value},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            if response.status_code != 503:
                break
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))  # busy: as the client does
        if response.status_code != 202:
            raise SystemExit(f"step refused: {response.status_code} {response.text}")
        async for message in ws:
            body = json.loads(message)
            if body.get("kind") == "step.aborted":
                raise SystemExit(f"step aborted: {body}")
            if body.get("kind") == "turn.changed":
                return time.perf_counter() - started
    raise SystemExit("the player's socket closed before the turn changed")


async def run_once(pg: EmbeddedPostgres, tmp: Path, args, count: int, tree: Path | None) -> dict:
    dsn = await fresh_database(pg, f"idle_{uuid.uuid4().hex[:8]}")
    env = dict(
        DATABASE_URL=dsn,
        AUTH_ATTEMPTS_PER_ADDRESS=1_000_000,
        ROOMS_PER_HOUR=1_000_000,
        LOBBY_ROOMS_PER_USER=1_000_000,
        # Every socket comes from one address and ten users: the quotas would refuse them.
        SOCKETS_PER_USER=1_000_000,
        SOCKETS_PER_ADDRESS=1_000_000,
        SIGNUP_CREDITS=1_000,
    )
    env.update(item.split("=", 1) for item in args.env)
    async with TreeServed(tmp / f"data-{count}", tree, **env) as server:
        process = psutil.Process(server.process.pid)
        http, rooms = await make_stage(server.url, args.rooms)
        tokens = await watcher_tokens(server.url)
        plan = [
            (
                f"{server.ws_url}/ws/rooms/{rooms[n % len(rooms)]['id']}",
                rooms[n % len(rooms)]["id"],
                {"Origin": server.url, "Cookie": f"exq_session={tokens[n % len(tokens)]}"},
            )
            for n in range(count)
        ]
        stage = rooms[0]
        on_stage = sum(1 for _, room, _ in plan if room == stage["id"])
        await asyncio.sleep(args.settle)
        before = process.memory_info().rss
        opening = time.perf_counter()
        async with Holders(plan, args.procs) as holders:
            opened = time.perf_counter() - opening
            await asyncio.sleep(args.settle)
            after = process.memory_info().rss
            step_seconds = await one_step(http, server.ws_url, stage)
            deadline = time.perf_counter() + 60
            while True:
                still_open, seen, latency = await holders.report()
                kinds = seen.get(stage["id"], {})
                reached = min(kinds.get("step.committed", 0), kinds.get("turn.changed", 0))
                if reached >= on_stage or time.perf_counter() > deadline:
                    break
                await asyncio.sleep(0.2)
        await http.aclose()
    return {
        "sockets": count,
        "opened_s": opened,
        "kib_per_socket": (after - before) / count / 1024,
        "rss_before_mib": before / 2**20,
        "rss_after_mib": after / 2**20,
        "still_open": still_open,
        "on_stage": on_stage,
        "reached": reached,
        "latency_ms": latency,
        "step_s": step_seconds,
    }


def show(name: str, r: dict) -> None:
    print(
        f"  {name:<28} N={r['sockets']:>6}  RSS {r['rss_before_mib']:7.1f} -> {r['rss_after_mib']:7.1f} MiB"
        f"  {r['kib_per_socket']:6.1f} KiB/socket  opened in {r['opened_s']:5.1f} s"
        f"  open after {r['still_open']}/{r['sockets']}  step reached {r['reached']}/{r['on_stage']}"
        f" stage sockets (commit-to-last {r['latency_ms']:.0f} ms, submit-to-turn {r['step_s'] * 1000:.0f} ms)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sockets", default="1000,10000", help="N, comma separated")
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before each RSS reading")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a server setting")
    parser.add_argument("--baseline-tree", type=Path, help="also run, first, the server of this source tree")
    parser.add_argument("--baseline-only", action="store_true", help="run only the --baseline-tree server")
    args = parser.parse_args()
    if args.hold:
        await holder_main()
        return
    raise_file_limit()
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.baseline_tree:
        trees.insert(0, (f"baseline ({args.baseline_tree})", args.baseline_tree))
        if args.baseline_only:
            trees.pop()
    print(f"bench/idle_sockets.py  {args.rooms} rooms  {args.procs} client processes  one server process")
    with tempfile.TemporaryDirectory(prefix="exquisite-idle-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", delete_on_exit=True)
        pg.start()
        try:
            for count in (int(n) for n in args.sockets.split(",")):
                for name, tree in trees:
                    show(name, await run_once(pg, Path(tmp), args, count, tree))
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
