"""Blobs derived from tiles: each tile's WebP display copy and each round's animated timelapse.
Both are made once, on first request (server/play/renders.py), and named here."""

from __future__ import annotations

from uuid import UUID

from storage.database import Connection

__all__ = ["display_copy", "record_display_copy", "timelapse_blob", "record_timelapse"]


async def display_copy(conn: Connection, tile_sha256: str, width: int | None) -> tuple[int | None, str | None]:
    """The tile size of the committed tile with these bytes (None: no such tile), and the sha256
    of its WebP copy at `width` (None, or above the tile size: the tile's own) if one was made."""
    # Returns (tile size or None, copy's sha256 or None).
    row = await conn.fetchrow(
        """WITH tile AS (SELECT r.tile_size FROM tiles t JOIN rooms r ON r.id = t.room_id
                         WHERE t.sha256 = $1 LIMIT 1)
           SELECT (SELECT tile_size FROM tile) AS tile_size,
                  (SELECT d.sha256 FROM display_copies d, tile WHERE d.tile_sha256 = $1
                       AND d.width = least(coalesce($2, tile.tile_size), tile.tile_size)) AS copy""",
        tile_sha256,
        width,
    )
    assert row is not None
    return row["tile_size"], row["copy"]


async def record_display_copy(conn: Connection, tile_sha256: str, width: int, sha256: str) -> None:
    """Remembers a tile's display copy; a maker that lost a race to the same row leaves it alone."""
    # Returns nothing.
    await conn.execute(
        """INSERT INTO display_copies (tile_sha256, width, sha256) VALUES ($1, $2, $3)
           ON CONFLICT (tile_sha256, width) DO NOTHING""",
        tile_sha256,
        width,
        sha256,
    )


async def timelapse_blob(conn: Connection, room_id: UUID, tile_count: int) -> str | None:
    # Returns the sha256 of the room's timelapse over its first `tile_count` tiles.
    return await conn.fetchval(
        "SELECT sha256 FROM timelapses WHERE room_id = $1 AND tile_count = $2", room_id, tile_count
    )


async def record_timelapse(conn: Connection, room_id: UUID, tile_count: int, sha256: str) -> None:
    """Remembers a rendered timelapse; a render that lost a race to the same row leaves it alone."""
    # Returns nothing.
    await conn.execute(
        """INSERT INTO timelapses (room_id, tile_count, sha256) VALUES ($1, $2, $3)
           ON CONFLICT (room_id, tile_count) DO NOTHING""",
        room_id,
        tile_count,
        sha256,
    )
