"""Page weight and Lighthouse scores of what a visitor opens first: the welcome page and the share
page of a finished 24-tile room with real-size, photo-like tiles.

    uv run python bench/page_weight.py [--tiles 24] [--tile-size 1024] [--no-lighthouse]

The app runs under uvicorn on a loopback port, as `exquisite serve` does, with one difference: its
generator paints photo-like windows (bench/seams.py's landscape and photo scenes, a new picture
each step), because the mock's smooth gradients compress unlike any real tile. The room is played
by real steps through HTTP. Then Debian's Chromium (Playwright) opens the share page at a phone's
size and every byte it transfers is counted, beside the baseline measured in the same run: the
same page if the board showed the canonical PNGs and nothing were compressed. A second visit
counts what is fetched again in full. Last, Lighthouse (npm's `lighthouse`, fetched by npx on
first use) scores both pages on its mobile preset: performance, accessibility, best practices.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import seams
from playing import play_room
from playwright.async_api import async_playwright

from server.settings import Settings
from storage import EmbeddedPostgres
from tests.servers import LiveServer

CHROMIUM = "/usr/bin/chromium"
PHONE = {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75, "is_mobile": True}
KIB = 1024


class PhotoLikeGenerator:
    """Paints the window's transparent part with a photo-like picture (a new one per seed)."""

    name = "photo-like"

    async def generate(self, context, prompt, *, seed, on_progress=None, safety_identifier=None):
        return await asyncio.to_thread(self._paint, context, seed)

    @staticmethod
    def _paint(context: np.ndarray, seed: int) -> np.ndarray:
        side = context.shape[0]
        scene = ("landscape", "photo")[seed % 2]
        picture = seams.SCENES[scene](side, np.random.default_rng(seed))
        out = np.clip(np.rint(picture), 0, 255).astype(np.uint8)
        keep = context[..., 3:] == 255
        rgba = np.dstack([out, np.full(out.shape[:2], 255, np.uint8)])
        return np.where(keep, context, rgba)

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def visit(base: str, path: str) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """Opens `path` at a phone's size twice; returns the bytes transferred per URL on the first
    visit, the same on the second, and the URLs the second visit fetched in full (status 200)."""
    visits: list[dict[str, int]] = [{}, {}]
    refetched: list[str] = []
    pending: list[asyncio.Task] = []
    current = 0

    async def record(response) -> None:
        number = current
        if response.status != 200 or (await response.request.sizes())["responseBodySize"] <= 0:
            visits[number][response.url] = 0  # 304, or from the browser's cache: nothing came over the wire
            return
        length = response.headers.get("content-length")  # as sent: compressed, when it was
        visits[number][response.url] = int(length) if length else len(await response.body())
        if number == 1:
            refetched.append(response.url)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        page.on("response", lambda response: pending.append(asyncio.create_task(record(response))))
        for current in range(2):  # noqa: B007 (record() reads it)
            await page.goto(base + path, wait_until="networkidle")
            await asyncio.gather(*pending)
            pending.clear()
        await browser.close()
    return visits[0], visits[1], refetched


async def png_only_bytes(http: httpx.AsyncClient, room_id: str, first: dict[str, int], base: str) -> int:
    """The baseline: the same page's requests, tiles as their canonical PNGs, nothing compressed."""
    total = 0
    room = (await http.get(f"/api/rooms/{room_id}")).json()
    pngs = {tile["url"] for tile in room["tiles"]}
    for url in first:
        if "/blobs/" in url and ".webp" in url:
            continue
        response = await http.get(url.removeprefix(base), headers={"Accept-Encoding": "identity"})
        total += len(response.content)
    for url in pngs:
        total += len((await http.get(url)).content)
    return total


async def lighthouse(url: str) -> dict[str, float]:
    """Lighthouse's mobile preset on `url`: each category's score out of 100 (in a subprocess the
    event loop awaits: the server under test runs on this same loop)."""
    npx = shutil.which("npx")
    if npx is None:
        raise SystemExit("npx (Node.js) is needed for Lighthouse")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    command = [
        npx, "--yes", "lighthouse@12", url, "--quiet", "--output=json", "--output-path=stdout",
        "--only-categories=performance,accessibility,best-practices",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(*command, env=env, stdout=asyncio.subprocess.PIPE)
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}")
    report = json.loads(output)
    return {key: round(category["score"] * 100) for key, category in report["categories"].items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiles", type=int, default=24)
    parser.add_argument("--tile-size", type=int, default=1024, choices=(256, 512, 1024))
    parser.add_argument("--no-lighthouse", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-weight-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        try:
            admin = await asyncpg.connect(pg.uri())
            await admin.execute("CREATE DATABASE weight")
            await admin.close()
            settings = Settings(
                _env_file=None,
                database_url=pg.uri("weight"),
                data_dir=Path(tmp) / "data",
                session_secret="bench-secret",
                signup_credits=1000,
                daily_credits=0,
            )
            async with LiveServer(settings, generator=PhotoLikeGenerator()) as server:
                await measure(server.url, args)
        finally:
            pg.stop()


async def measure(base: str, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"Origin": base}, timeout=120) as http:
        print(f"playing a {args.tiles}-tile room of {args.tile_size} px photo-like tiles by real steps")
        room_id = await play_room(
            http,
            email="weight@example.com",
            display_name="Ada",
            room_name="Harbour at dusk",
            tiles=args.tiles,
            tile_size=args.tile_size,
        )
        share = f"/share/{room_id}"
        first, second, refetched = await visit(base, share)
        baseline = await png_only_bytes(http, room_id, first, base)
    shown = sum(first.values())
    images = sum(size for url, size in first.items() if "/blobs/" in url)
    print(f"\nshare page of the {args.tiles}-tile room, first visit at {PHONE['viewport']['width']} px:")
    print(f"  {'PNG tiles, nothing compressed (baseline)':<44} {baseline / KIB:>9.0f} KiB")
    print(f"  {'as served (WebP copies at the shown size)':<44} {shown / KIB:>9.0f} KiB  ({shown / baseline:.1%})")
    print(f"  {'  of which tile images':<44} {images / KIB:>9.0f} KiB in {sum('/blobs/' in u for u in first)} files")
    print(f"second visit: {len(second)} requests, {sum(second.values()) / KIB:.1f} KiB transferred;")
    static = [url for url in refetched if "/client/" in url]
    print(f"  client files fetched again in full: {len(static)} {static if static else ''}")
    if args.no_lighthouse:
        return
    print("\nLighthouse, mobile preset (performance / accessibility / best practices):")
    for label, path in (("welcome page", "/"), (f"share page, {args.tiles} tiles", share)):
        scores = await lighthouse(base + path)
        figures = " / ".join(f"{scores[key]}" for key in ("performance", "accessibility", "best-practices"))
        print(f"  {label:<28} {figures}")


if __name__ == "__main__":
    asyncio.run(main())
