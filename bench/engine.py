"""Time the engine's hot paths against a plain numpy copy measured in the same run.

    uv run python bench/engine.py

For each tile size T: build_context (all eight neighbours present), correct_seams (all four edges
corrected) and MockGenerator.generate, each the median of many runs, printed beside the median
time of np.copyto of a 2T x 2T x 4 uint8 array (the bytes of one context window) as a ratio.
Then PNG encoding of one tile, for information: Pillow's encoder at zlib levels 1 and 6 (its
filters chosen per row), beside engine.encode_png (rows filtered with Up, level 1).
"""

from __future__ import annotations

import asyncio
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

# Run as a script, this file is "engine" on sys.path[0] and would shadow the package: put the
# repository root first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import MockGenerator, build_context, correct_seams, encode_png

SIZES = (256, 512, 1024)
# The exact (Poisson) blend is the default since issue 14: its own budget is 30 ms at T=512.
TARGETS_MS = {512: {"build_context + correct_seams": 35.0, "mock generate": 30.0}}


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm caches and first-touch pages outside the measurement
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def neighbours(tile_size: int) -> dict[tuple[int, int], np.ndarray]:
    rng = np.random.default_rng(tile_size)
    tiles = {}
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (dx, dy) != (0, 0):
                tile = rng.integers(0, 256, size=(tile_size, tile_size, 4), dtype=np.uint8)
                tile[..., 3] = 255
                tiles[(dx, dy)] = tile
    return tiles


def bench_size(tile_size: int, loop: asyncio.AbstractEventLoop) -> list[tuple[str, float]]:
    repeats = 30 if tile_size < 1024 else 15
    tiles = neighbours(tile_size)
    context = build_context(tiles, (0, 0), tile_size)
    mock = MockGenerator()
    generated = loop.run_until_complete(mock.generate(context, "a bench", seed=1))
    seeds = iter(range(10**9))
    return [
        ("build_context", median_ms(lambda: build_context(tiles, (0, 0), tile_size), repeats)),
        ("correct_seams", median_ms(lambda: correct_seams(generated, context, tile_size), repeats)),
        (
            "build_context + correct_seams",
            median_ms(lambda: correct_seams(generated, build_context(tiles, (0, 0), tile_size), tile_size), repeats),
        ),
        (
            "mock generate",
            median_ms(lambda: loop.run_until_complete(mock.generate(context, "a bench", seed=next(seeds))), repeats),
        ),
    ]


def baseline_ms(tile_size: int) -> float:
    source = np.random.default_rng(0).integers(0, 256, size=(2 * tile_size, 2 * tile_size, 4), dtype=np.uint8)
    target = np.empty_like(source)
    return median_ms(lambda: np.copyto(target, source), 200)


def png_rows(loop: asyncio.AbstractEventLoop) -> list[tuple[str, int, float, int]]:
    tile_size = 512
    painted = loop.run_until_complete(MockGenerator().generate(np.zeros((1024, 1024, 4), np.uint8), "png", seed=2))
    tiles = {
        "painted (mock)": np.ascontiguousarray(painted[256:768, 256:768]),
        "noise": neighbours(tile_size)[(0, 1)],
    }
    rows = []
    for label, tile in tiles.items():
        for level in (1, 6):

            def encode(level=level, tile=tile):
                buffer = io.BytesIO()
                Image.fromarray(tile, "RGBA").save(buffer, format="PNG", compress_level=level)
                return buffer.getvalue()

            rows.append((label + ", Pillow", level, median_ms(encode, 10), len(encode())))
        encoded = encode_png(tile)
        rows.append((label + ", encode_png", -1, median_ms(lambda tile=tile: encode_png(tile), 10), len(encoded)))
    return rows


def main() -> None:
    loop = asyncio.new_event_loop()
    try:
        print(f"numpy {np.__version__}, Pillow {Image.__version__}, Python {sys.version.split()[0]}")
        print("median ms per call; ratio = time / np.copyto of the same 2T x 2T x 4 bytes\n")
        print(f"{'T':>5}  {'operation':<30} {'ms':>8}  {'copy ms':>8}  {'ratio':>7}  target")
        failures = []
        for tile_size in SIZES:
            copy = baseline_ms(tile_size)
            for name, ms in bench_size(tile_size, loop):
                target = TARGETS_MS.get(tile_size, {}).get(name)
                verdict = "" if target is None else f"< {target:g} ms " + ("ok" if ms < target else "MISSED")
                if target is not None and ms >= target:
                    failures.append(f"T={tile_size} {name}")
                print(f"{tile_size:>5}  {name:<30} {ms:>8.2f}  {copy:>8.3f}  {ms / copy:>6.0f}x  {verdict}")
            print()
        print("PNG encoding of one 512 x 512 RGBA tile (information)")
        print(f"  {'tile':<28} {'level':>5} {'ms':>8} {'bytes':>9}")
        for label, level, ms, size in png_rows(loop):
            print(f"  {label:<28} {level if level >= 0 else '':>5} {ms:>8.2f} {size:>9}")
        if failures:
            print("\nmissed targets: " + ", ".join(failures))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
