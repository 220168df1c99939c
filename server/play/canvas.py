"""A room's composite canvas as PNG bytes, in bounded memory and at a bounded rate.

- Scale: each tile gets `side` pixels, at most its own size, so that the canvas's longer side fits
  the asked maximum (2048 by default; `None` for the tiles' own size).
- Memory: the canvas is never whole in memory. It is built and compressed one row of tiles at a
  time (a strip of `side` x width pixels), with one tile decoded at a time; PNG allows that, with
  one IDAT chunk per strip (engine.PngWriter). A full-size render of the largest room (8 x 8 tiles
  of 1024) holds a 32 MiB strip, its filtered copy and the compressed output (bench/canvas.py
  measures it).
- Rate: renders run off the event loop, on the pixel pool (play/pixels.py), at most
  `CANVAS_RENDERS` at once per process.
- Once: a finished room's tiles never change, so its canvas at a scale is rendered once, kept as
  a blob (storage/canvases.py names it) and streamed from the store afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

import engine
from server.play import pixels
from server.play.tiles import DEFLATER, INFLATER
from storage import BlobStore, Database, canvases
from storage.rooms import Room, RoomStatus
from storage.steps import TileRecord

__all__ = ["DEFAULT_MAX_SIDE", "Layout", "layout", "picture", "render"]

DEFAULT_MAX_SIDE = 2048
# The deflater's level. Measured with zlib on a strip of eight 1024 px mock tiles (rows filtered
# with Up): level 1 took 0.17 s for 1.25 MiB, level 3 0.13 s for 1.15 MiB, level 6 0.29 s for 0.76
# MiB. With zlib-ng, as tiles are deflated (server/play/tiles.py), on a strip of eight 512 px ones:
# level 3 18 ms for 472 KiB, against zlib's level 3 at 44 ms for 585 KiB.
_COMPRESS_LEVEL = 3


@dataclass(frozen=True)
class Layout:
    """Where tiles go: `origin` is the cell at the top-left, `side` the pixels of each tile."""

    origin: tuple[int, int]
    columns: int
    rows: int
    side: int

    @property
    def size(self) -> tuple[int, int]:
        return self.columns * self.side, self.rows * self.side


def layout(tiles: list[TileRecord], tile_size: int, max_side: int | None) -> Layout:
    """The bounding box of the tiles (one empty cell at (0, 0) when there are none), scaled down
    so that its longer side is at most `max_side` (never up)."""
    xs, ys = [t.x for t in tiles] or [0], [t.y for t in tiles] or [0]
    columns, rows = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
    side = tile_size if max_side is None else max(1, min(tile_size, max_side // max(columns, rows)))
    return Layout((min(xs), min(ys)), columns, rows, side)


async def picture(
    db: Database, blobs: BlobStore, room: Room, tiles: list[TileRecord], plan: Layout, *, renders: int
) -> bytes | AsyncIterator[bytes]:
    """The canvas: for a finished room, streamed from its blob once rendered (the first request
    renders and keeps it); for a room still playing, rendered for this request."""
    if room.status is not RoomStatus.FINISHED:
        async with pixels.render_slots(renders):
            return await render(blobs, tiles, plan)
    kept = await _kept(db, blobs, room, len(tiles), plan.side)
    if kept is not None:
        return kept
    async with pixels.render_slots(renders):
        # A request that held the limit before this one may have rendered it meanwhile.
        kept = await _kept(db, blobs, room, len(tiles), plan.side)
        if kept is not None:
            return kept
        data = await render(blobs, tiles, plan)
        sha256 = await blobs.put(data)
        async with db.acquire() as conn:
            await canvases.record_canvas(conn, room.id, len(tiles), plan.side, sha256)
    return data


async def _kept(db: Database, blobs: BlobStore, room: Room, tile_count: int, side: int) -> AsyncIterator[bytes] | None:
    async with db.acquire() as conn:
        sha256 = await canvases.canvas_blob(conn, room.id, tile_count, side)
    # A missing blob (lost with a store) is rendered again, to the same key.
    return None if sha256 is None else await blobs.open(sha256)


async def render(blobs: BlobStore, tiles: list[TileRecord], plan: Layout) -> bytes:
    """PNG bytes of the canvas, built one strip of tiles at a time, empty cells transparent."""
    width, height = plan.size
    png = engine.PngWriter(width, height, 4, level=_COMPRESS_LEVEL, deflater=DEFLATER)
    left, top = plan.origin
    for row in range(plan.rows):
        strip = np.zeros((plan.side, width, 4), dtype=np.uint8)
        for tile in (t for t in tiles if t.y - top == row):
            data = await blobs.get(tile.sha256)
            if data is None:
                raise RuntimeError(f"blob {tile.sha256} is missing")
            await pixels.run_in_thread(_paste, strip, data, (tile.x - left) * plan.side)
        await pixels.run_in_thread(png.add, strip)
        del strip
    return await pixels.run_in_thread(png.finish)


def _paste(strip: np.ndarray, data: bytes, left: int) -> None:
    side = strip.shape[0]
    pixels = engine.decode_png(data, inflater=INFLATER)
    if pixels.shape[0] != side:
        pixels = np.asarray(Image.fromarray(pixels, "RGBA").resize((side, side), Image.Resampling.BOX))
    strip[:, left : left + side] = pixels
