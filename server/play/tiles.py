"""Decoded tiles, kept by content hash: a tile's bytes never change, so neither do its pixels.

Decoding PNGs was a fifth of a step's CPU (bench/steps.py under py-spy); each new tile is a
neighbour of the next, so most loads are hits. Bounded by bytes, least recently used out first.
A tile a pixel worker made or decoded is a view of that worker's shared memory, kept as it is and
passed back to it by name as a neighbour (server/play/pixel_transport.py). While cached it pins
its segment (the power-of-two size class of the answer it came in: at most twice that answer)
and a file descriptor in each process, within the file limit the server raises at start.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from uuid import UUID

import numpy as np
from zlib_ng import zlib_ng

import engine
from server.play import pixels
from storage import BlobStore, Database, steps

__all__ = ["TileCache", "load_neighbours", "neighbours_of", "finish_tile", "encode_tile", "DEFLATER", "INFLATER"]

# Tiles' PNGs are deflated by zlib-ng rather than the system's zlib: the same format, and at its
# level 2 a painted 512 px tile (the mock's, Up-filtered) took 1.8 ms and came to 76 kB, against
# 3.3 ms and 88 kB at zlib's level 1, the fastest it has (a /tmp script, median of 25); a grainy
# one 8.2 ms and 578 kB against 11.4 ms and 604 kB. Its output may differ from one CPU to another
# (it picks its SIMD code at run time); nothing needs it not to: a tile is encoded once, where it is
# painted, and addressed by the bytes written.
DEFLATER = zlib_ng.compressobj
_TILE_LEVEL = 2
# Inflating a 512 px tile: 0.41 ms against the system zlib's 1.36 (engine/png.py: a miss decodes in
# 0.83 ms against Pillow's 1.95).
INFLATER = zlib_ng.decompressobj


class TileCache:
    def __init__(self, blobs: BlobStore, *, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.blobs = blobs
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        """Bytes of pixels held."""
        return self._bytes

    def remember(self, sha256: str, tile: np.ndarray) -> None:
        if sha256 in self._tiles:
            self._tiles.move_to_end(sha256)
            return
        tile = tile.copy() if tile.flags.writeable else tile
        tile.flags.writeable = False  # shared between steps: nobody may paint on it
        self._tiles[sha256] = tile
        self._bytes += tile.nbytes
        while self._bytes > self.max_bytes and self._tiles:
            _, evicted = self._tiles.popitem(last=False)
            self._bytes -= evicted.nbytes

    async def get(self, sha256: str, tile_size: int) -> np.ndarray:
        """The tile's pixels; raises RuntimeError if its blob is missing (a broken invariant), and
        engine.InvalidImage if it is not a tile of `tile_size`."""
        tile = self._tiles.get(sha256)
        if tile is not None:
            self.hits += 1
            self._tiles.move_to_end(sha256)
            return tile
        self.misses += 1
        data = await self.blobs.get(sha256)
        if data is None:
            raise RuntimeError(f"blob {sha256} is missing")
        # Decoded where the worker's answer is lent (see engine.Output), and kept there.
        out = engine.Output((tile_size, tile_size, 4))
        tile = await pixels.run(engine.decode_png, data, out=out, inflater=INFLATER)
        tile.flags.writeable = False  # ours alone (a worker's answer): kept as it is, not copied
        self.remember(sha256, tile)
        return self._tiles[sha256]


async def load_neighbours(
    db: Database, tiles: TileCache, room_id: UUID, cell: engine.Cell, tile_size: int
) -> dict[engine.Cell, np.ndarray]:
    """The decoded tiles of the 3 x 3 cells around `cell`: all the context window can touch."""
    async with db.acquire() as conn:
        placed = await steps.room_tiles(conn, room_id)
    return await neighbours_of(tiles, {(t.x, t.y): t.sha256 for t in placed}, cell, tile_size)


async def neighbours_of(
    tiles: TileCache, addresses: Mapping[engine.Cell, str], cell: engine.Cell, tile_size: int
) -> dict[engine.Cell, np.ndarray]:
    """load_neighbours() for a caller that has read the tiles' blob addresses by cell already."""
    around = ((cell[0] + dx, cell[1] + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    near = [c for c in around if c in addresses]
    pixels = await asyncio.gather(*(tiles.get(addresses[c], tile_size) for c in near))
    return dict(zip(near, pixels, strict=True))


def finish_tile(
    generated: np.ndarray,
    context: np.ndarray,
    tile_size: int,
    method: engine.SeamMethod,
    *,
    out: np.ndarray | engine.Output | None = None,
) -> tuple[engine.SeamResult, bytes]:
    """The new tile with its seams corrected (in `out` when given) and its PNG, in one call to a
    pixel worker so that the tile crosses back once; read-only, so the TileCache keeps it as it
    comes."""
    seams = engine.correct_seams(generated, context, tile_size, method=method, out=out)
    seams.tile.flags.writeable = False
    return seams, encode_tile(seams.tile)


def encode_tile(tile: np.ndarray) -> bytes:
    """A tile's PNG (the bytes its blob address is the hash of)."""
    return engine.encode_png(tile, level=_TILE_LEVEL, deflater=DEFLATER)
