"""A step's pixel work in threads (asyncio.to_thread, as server/play/step.py does) or in a process
pool sized from the CPU count, and what each costs the event loop, in one run.

    uv run python bench/pixels.py [--tile-size 256] [--steps 40] [--parallel 4]

The work per step is the server's outside the generator: build_context() from eight neighbours,
correct_seams(), encode_png() and the read-only copy for the TileCache, plus one JPEG preview.
For each mode it prints steps/s, the wall time per step (p50/p99), the event loop's lag while
the steps run (a 10 ms ticker; p99/max) and the CPU seconds of the whole process tree per step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine
from server.play.tiles import encode_and_freeze


def neighbours(tile_size: int) -> dict[tuple[int, int], np.ndarray]:
    rng = np.random.default_rng(1)
    cells = [(x, y) for x in (-1, 0, 1) for y in (-1, 0, 1) if (x, y) != (0, 0)]
    return {cell: rng.integers(0, 256, (tile_size, tile_size, 4), dtype=np.uint8) for cell in cells}


def whole_step(tiles: dict, tile_size: int) -> tuple[bytes, np.ndarray, bytes]:
    """All of a step's pixel work in one call: what a process pool would run per step."""
    context = engine.build_context(tiles, (0, 0), tile_size)
    generated = context.copy()
    generated[..., 3] = 255
    seams = engine.correct_seams(generated, context, tile_size)
    png, frozen = encode_and_freeze(seams.tile)
    return png, frozen, engine.encode_jpeg_preview(generated)


async def threaded_step(tiles: dict, tile_size: int, pool: object) -> None:
    context = await asyncio.to_thread(engine.build_context, tiles, (0, 0), tile_size)
    generated = context.copy()
    generated[..., 3] = 255
    await asyncio.to_thread(engine.encode_jpeg_preview, generated)
    seams = await asyncio.to_thread(partial(engine.correct_seams), generated, context, tile_size)
    await asyncio.to_thread(encode_and_freeze, seams.tile)


async def bounded_step(tiles: dict, tile_size: int, pool: ThreadPoolExecutor) -> None:
    """As threaded_step, on a pool of its own with fewer workers than cores (server/play/pixels.py)."""
    loop = asyncio.get_running_loop()
    context = await loop.run_in_executor(pool, engine.build_context, tiles, (0, 0), tile_size)
    generated = context.copy()
    generated[..., 3] = 255
    await loop.run_in_executor(pool, engine.encode_jpeg_preview, generated)
    seams = await loop.run_in_executor(pool, partial(engine.correct_seams), generated, context, tile_size)
    await loop.run_in_executor(pool, encode_and_freeze, seams.tile)


async def pooled_step(tiles: dict, tile_size: int, pool: ProcessPoolExecutor) -> None:
    await asyncio.get_running_loop().run_in_executor(pool, whole_step, tiles, tile_size)


def cpu(process: psutil.Process) -> float:
    total = 0.0
    for one in [process, *process.children(recursive=True)]:
        times = one.cpu_times()
        total += times.user + times.system
    return total


async def measure(name: str, step, args, pool) -> str:
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

    async def one() -> None:
        async with gate:
            started = time.perf_counter()
            await step(tiles, args.tile_size, pool)
            walls.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(one() for _ in range(args.parallel)))  # warm-up
    walls.clear()
    process = psutil.Process()
    cpu_before = cpu(process)
    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(args.steps)))
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    ordered = sorted(walls)
    lag = sorted(lags)
    wall_p99, lag_p99 = ordered[int(0.99 * (len(ordered) - 1))], lag[int(0.99 * (len(lag) - 1))]
    return (
        f"  {name:<8} {args.steps / elapsed:7.1f} steps/s  wall p50 {statistics.median(walls):6.1f} ms"
        f"  p99 {wall_p99:6.1f} ms  loop lag p99 {lag_p99:6.1f} ms"
        f"  max {lag[-1]:6.1f} ms  cpu/step {(cpu(process) - cpu_before) * 1000 / args.steps:6.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tile-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    print(f"T={args.tile_size}  {args.steps} steps, {args.parallel} at a time, {os.cpu_count()} cores")
    print(await measure("threads", threaded_step, args, None))
    workers = max(1, (os.cpu_count() or 2) - 1)
    with ThreadPoolExecutor(max_workers=workers) as threads:
        print(await measure(f"{workers} thread", bounded_step, args, threads))
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        print(await measure("processes", pooled_step, args, pool))


if __name__ == "__main__":
    asyncio.run(main())
