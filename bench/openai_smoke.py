"""The OpenAI generator against the real API, one step per tile size; and, offline, what its own
image work costs.

    OPENAI_API_KEY=sk-... uv run python bench/openai_smoke.py [--model M] [--quality low] [--prompt P]
    uv run python bench/openai_smoke.py --pixels [--repeats 5]

With a key (and OPENAI_BASE_URL if set, OPENAI_MODEL, OPENAI_MAX_SIDE, OPENAI_QUALITY,
OPENAI_COMPLEXITY), it paints one window per tile size (256, 512, 1024) next to a left neighbour,
through the same OpenAIGenerator the server uses, and prints the size asked for, the request's
image and mask bytes, the latency to the first preview and to the image, and the seam score and
context drift of the result. Each run costs three images on your account. Without a key it says
so and exits 0; it never runs in CI.

--pixels needs no key: per tile size and resampling filter, the CPU time of encoding the request
(image + mask PNG) and of decoding and scaling back an answer, the bytes, and the error the
up-and-down scaling alone puts into the window (mean absolute grey levels), median of --repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

# Run as a script, this file's folder is sys.path[0]: put the repository root first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import TILE_SIZES, build_context, correct_seams
from engine.generators import _openai_pixels as pixels
from engine.generators.openai_images import DEFAULT_MODEL, OpenAIGenerator
from engine.png import encode_png

FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def _scene(side: int, seed: int = 7) -> np.ndarray:
    """A photo-like (side, side, 4) opaque picture: gradients, soft shapes and sensor grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    rgb = np.stack([0.3 + 0.5 * y, 0.4 + 0.3 * np.sin(6 * x), 0.6 - 0.4 * y * x], axis=-1)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.2)
        rgb += (rng.uniform(-0.3, 0.3, 3) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]).astype(
            np.float32
        )
    rgb += rng.normal(0, 0.03, rgb.shape).astype(np.float32)
    out = np.full((side, side, 4), 255, np.uint8)
    out[..., :3] = np.clip(rgb * 255, 0, 255).astype(np.uint8)
    return out


def _context(tile_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A window with a left neighbour cut from a scene, and the scene's true window."""
    world = _scene(2 * tile_size)
    left = world[tile_size // 2 : tile_size // 2 + tile_size, 0:tile_size]
    return build_context({(0, 0): np.ascontiguousarray(left)}, (1, 0), tile_size), world


def _timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def measure_pixels(repeats: int, max_side: int) -> None:
    print(f"{'T':>5} {'sent':>5} {'filter':>8} {'encode ms':>9} {'image kB':>8}", end="")
    print(f" {'mask kB':>7} {'answer ms':>9} {'error':>6}")
    for tile_size in TILE_SIZES:
        window = 2 * tile_size
        side = pixels.request_side(window, max_side)
        context, truth = _context(tile_size)
        answer_png = encode_png(_scene(side, seed=8)) if side != window else encode_png(truth)
        filters = FILTERS if side != window else {"(none)": None}
        for name, resample in filters.items():
            if resample is not None:
                pixels._UP = pixels._DOWN = resample  # the bench tries each filter
            encode_ms, request = _timed(partial(pixels.encode_request, context, side), repeats)
            answer_ms, _ = _timed(partial(pixels.decode_answer, answer_png, request), repeats)
            error = 0.0
            if resample is not None:
                there = np.asarray(Image.fromarray(truth).resize((side, side), resample))
                back = np.asarray(Image.fromarray(there).resize((window, window), resample))
                error = float(np.abs(back[..., :3].astype(int) - truth[..., :3]).mean())
            print(
                f"{tile_size:>5} {side:>5} {name:>8} {encode_ms:9.1f} {len(request.image) / 1000:8.0f}"
                f" {len(request.mask) / 1000:7.1f} {answer_ms:9.1f} {error:6.2f}"
            )
    jpeg = _jpeg(2048)
    jpeg_ms, _ = _timed(lambda: pixels.preview_of(jpeg), repeats)
    png = encode_png(_scene(2048))
    png_ms, _ = _timed(lambda: pixels.preview_of(png), repeats)
    print(f"preview of a 2048 px partial image: PNG {png_ms:.1f} ms, JPEG {jpeg_ms:.1f} ms (draft decode)")


def _jpeg(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_scene(side)[..., :3]).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def smoke(key: str, args: argparse.Namespace) -> None:
    max_side = int(os.environ.get("OPENAI_MAX_SIDE", "2048"))
    generator = OpenAIGenerator(
        key,
        model=args.model,
        base_url=os.environ.get("OPENAI_BASE_URL") or None,
        timeout=args.timeout,
        quality=args.quality,
        complexity=os.environ.get("OPENAI_COMPLEXITY") or None,
        max_side=max_side,
    )
    try:
        await generator.check()
        print(f"model {args.model}: available; prompt {args.prompt!r}")
        print(f"{'T':>5} {'sent':>5} {'image kB':>8} {'mask kB':>7} {'preview s':>9} {'total s':>7}", end="")
        print(f" {'seam':>5} {'drift':>5}")
        for tile_size in TILE_SIZES:
            context, _truth = _context(tile_size)
            request = pixels.encode_request(context, pixels.request_side(2 * tile_size, max_side))
            started = time.perf_counter()
            first: list[float] = []

            async def on_progress(fraction, preview, first=first, started=started):
                if preview is not None and not first:
                    first.append(time.perf_counter() - started)

            image = await generator.generate(
                context, args.prompt, seed=0, on_progress=on_progress, safety_identifier="openai-smoke"
            )
            total = time.perf_counter() - started
            seams = correct_seams(image, context, tile_size)
            print(
                f"{tile_size:>5} {request.side:>5} {len(request.image) / 1000:8.0f} {len(request.mask) / 1000:7.1f}"
                f" {first[0] if first else float('nan'):9.1f} {total:7.1f} {seams.seam_score:5.2f}"
                f" {seams.context_drift:5.1f}"
            )
    finally:
        await generator.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pixels", action="store_true", help="measure the image work offline (no key needed)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL") or DEFAULT_MODEL)
    parser.add_argument("--quality", default=os.environ.get("OPENAI_QUALITY") or "low")
    parser.add_argument("--prompt", default="a quiet harbour town at dusk, painted in watercolour")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    if args.pixels:
        measure_pixels(args.repeats, int(os.environ.get("OPENAI_MAX_SIDE", "2048")))
        return
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        print("OPENAI_API_KEY is not set: nothing to smoke-test (run with --pixels for the offline figures).")
        return
    asyncio.run(smoke(key, args))


if __name__ == "__main__":
    main()
