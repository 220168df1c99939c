"""A step's pixel work on threads or in processes, with the event loop idle and with it busy, in one run.

    uv run python bench/pixels.py [--tile-size 256] [--steps 40] [--parallel 4] [--busy 0.5]

The work per step is the server's (server/play/step.py): build_context() from eight neighbours,
the mock generator's paint(), then finish_tile() (correct_seams() and the PNG), plus one JPEG
preview. Modes:
- `threads`: asyncio.to_thread (the default executor, cores + 4 threads);
- `1 thread` (cores - 1): a bounded thread pool, the server's design before the worker processes;
- `executor`: a concurrent.futures process pool running the whole step in one call;
- `workers`: server/play/pixel_workers.py, cores - 1 processes, one call per piece as the server makes.
Each runs with the loop idle, then with the loop busy: a task that runs pure Python for --busy of
the loop's time in 2 ms slices (as a loop fanning frames out to sockets does), which a pixel
thread must take the GIL back from after each of its numpy and Pillow operations. For each it
prints steps/s, the wall time per step (p50/p99), the loop's lag (a 10 ms ticker; p99) and the
CPU seconds of the whole process tree per step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine
from engine.generators._mock_paint import paint
from server.play.pixel_workers import WorkerPool
from server.play.tiles import finish_tile

WORKERS = max(1, (os.cpu_count() or 2) - 1)


def neighbours(tile_size: int) -> dict[tuple[int, int], np.ndarray]:
    rng = np.random.default_rng(1)
    cells = [(x, y) for x in (-1, 0, 1) for y in (-1, 0, 1) if (x, y) != (0, 0)]
    return {cell: rng.integers(0, 256, (tile_size, tile_size, 4), dtype=np.uint8) for cell in cells}


def whole_step(tiles: dict, tile_size: int, seed: int) -> tuple[bytes, bytes]:
    """All of a step's pixel work in one call: what a concurrent.futures pool runs per step."""
    context = engine.build_context(tiles, (0, 0), tile_size)
    painting = paint(context, "a lake at dawn", seed)
    _, png = finish_tile(painting.image, context, tile_size, "poisson")
    return png, engine.encode_jpeg_preview(painting.previews[-1])


def piecewise(run):
    """A step as the server makes it: one call per piece, each through `run`."""

    async def step(tiles: dict, tile_size: int, seed: int) -> None:
        context = await run(engine.build_context, tiles, (0, 0), tile_size)
        painting = await run(paint, context, "a lake at dawn", seed)
        await run(engine.encode_jpeg_preview, painting.previews[-1])
        await run(finish_tile, painting.image, context, tile_size, "poisson")

    return step


def on(executor: Executor):
    async def run(function, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    return run


def cpu(process: psutil.Process) -> float:
    total = 0.0
    for one in [process, *process.children(recursive=True)]:
        times = one.cpu_times()
        total += times.user + times.system
    return total


async def keep_busy(share: float, stop: asyncio.Event) -> None:
    """Pure Python on the loop for `share` of its time, 2 ms at a go."""
    if share <= 0:
        return
    idle = 0.002 * (1 - share) / share
    while not stop.is_set():
        until = time.perf_counter() + 0.002
        while time.perf_counter() < until:
            pass
        await asyncio.sleep(idle)


async def measure(name: str, step, args, busy: float) -> str:
    tiles = neighbours(args.tile_size)
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - started - 0.01) * 1000)

    gate = asyncio.Semaphore(args.parallel)
    walls: list[float] = []

    async def one(seed: int) -> None:
        async with gate:
            started = time.perf_counter()
            await step(tiles, args.tile_size, seed)
            walls.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(one(seed) for seed in range(args.parallel)))  # warm-up, workers started
    walls.clear()
    process = psutil.Process()
    cpu_before = cpu(process)
    background = [asyncio.create_task(ticker()), asyncio.create_task(keep_busy(busy, stop))]
    started = time.perf_counter()
    await asyncio.gather(*(one(seed) for seed in range(args.steps)))
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*background)
    ordered, lag = sorted(walls), sorted(lags)
    wall_p99, lag_p99 = ordered[int(0.99 * (len(ordered) - 1))], lag[int(0.99 * (len(lag) - 1))]
    return (
        f"  {name:<10} loop {'busy' if busy else 'idle'}  {args.steps / elapsed:6.1f} steps/s"
        f"  wall p50 {statistics.median(walls):6.1f} ms  p99 {wall_p99:6.1f} ms  loop lag p99 {lag_p99:6.1f} ms"
        f"  cpu/step {(cpu(process) - cpu_before) * 1000 / args.steps:6.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tile-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--busy", type=float, default=0.5, help="the busy loop's share of pure Python")
    args = parser.parse_args()
    print(
        f"T={args.tile_size}  {args.steps} steps, {args.parallel} at a time, {os.cpu_count()} cores,"
        f" busy loop {args.busy:.0%}"
    )
    workers = WorkerPool(WORKERS)
    with ThreadPoolExecutor(max_workers=WORKERS) as threads, ProcessPoolExecutor(max_workers=WORKERS) as processes:

        async def pooled(tiles: dict, tile_size: int, seed: int) -> None:
            await asyncio.get_running_loop().run_in_executor(processes, whole_step, tiles, tile_size, seed)

        modes = [
            ("threads", piecewise(asyncio.to_thread)),
            (f"{WORKERS} thread", piecewise(on(threads))),
            ("executor", pooled),
            ("workers", piecewise(workers.run)),
        ]
        for name, step in modes:
            for busy in (0.0, args.busy):
                print(await measure(name, step, args, busy), flush=True)
    workers.close()


if __name__ == "__main__":
    asyncio.run(main())
