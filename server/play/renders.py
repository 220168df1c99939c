"""Pictures derived from committed tiles, each made once and kept as a blob: a tile's WebP display
copy (the board shows it; the PNG stays the canonical, downloadable tile) and a round's animated
timelapse (engine/timelapse.py), one per room and tile count.

Both are made on first request, off the event loop on the pixel pool, under the process-wide
render limit; a request that waited for the limit looks again before making it, and two instances
that race make the same bytes, so whichever records first wins harmlessly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import engine.timelapse as timelapse
from server.play import pixels
from storage import BlobStore, Database, renders
from storage.steps import TileRecord

__all__ = ["display_copy", "room_timelapse"]

Picture = bytes | AsyncIterator[bytes]


async def display_copy(
    db: Database, blobs: BlobStore, tile_sha256: str, width: int | None, *, slots: int
) -> Picture | None:
    """The tile's WebP copy `width` pixels wide (None, or wider than the tile: its own size), or
    None when no committed tile has these bytes."""
    tile_size, kept = await _kept_copy(db, blobs, tile_sha256, width)
    if kept is not None or tile_size is None:
        return kept
    width = tile_size if width is None else min(width, tile_size)
    async with pixels.render_slots(slots):
        _, kept = await _kept_copy(db, blobs, tile_sha256, width)
        if kept is not None:
            return kept
        png = await blobs.get(tile_sha256)
        if png is None:
            return None
        data = await pixels.run(timelapse.tile_webp, png, width)
        sha256 = await blobs.put(data)
        async with db.acquire() as conn:
            await renders.record_display_copy(conn, tile_sha256, width, sha256)
    return data


async def _kept_copy(
    db: Database, blobs: BlobStore, tile_sha256: str, width: int | None
) -> tuple[int | None, AsyncIterator[bytes] | None]:
    async with db.acquire() as conn:
        tile_size, sha256 = await renders.display_copy(conn, tile_sha256, width)
    return tile_size, None if sha256 is None else await blobs.open(sha256)


async def room_timelapse(
    db: Database,
    blobs: BlobStore,
    room_id: UUID,
    tile_size: int,
    tiles: list[TileRecord],
    names: dict[int, str],
    *,
    slots: int,
) -> Picture:
    """The animated WebP of `tiles` (at least one, in commit order), captioned "name: prompt"."""
    kept = await _kept_timelapse(db, blobs, room_id, len(tiles))
    if kept is not None:
        return kept
    async with pixels.render_slots(slots):
        kept = await _kept_timelapse(db, blobs, room_id, len(tiles))
        if kept is not None:
            return kept
        side = timelapse.cell_side([(t.x, t.y) for t in tiles], tile_size)
        frames = []
        for tile in tiles:  # one full-size tile in memory at a time
            png = await blobs.get(tile.sha256)
            if png is None:
                raise RuntimeError(f"blob {tile.sha256} is missing")
            shrunk = await pixels.run(timelapse.shrink_tile, png, side)
            caption = f"{names.get(tile.author_id, 'A former player')}: {tile.prompt}"
            frames.append(timelapse.TimelapseTile((tile.x, tile.y), shrunk, caption))
        data = await pixels.run_in_thread(timelapse.timelapse_webp, frames)
        sha256 = await blobs.put(data)
        async with db.acquire() as conn:
            await renders.record_timelapse(conn, room_id, len(tiles), sha256)
    return data


async def _kept_timelapse(
    db: Database, blobs: BlobStore, room_id: UUID, tile_count: int
) -> AsyncIterator[bytes] | None:
    async with db.acquire() as conn:
        sha256 = await renders.timelapse_blob(conn, room_id, tile_count)
    return None if sha256 is None else await blobs.open(sha256)
