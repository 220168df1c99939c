"""Rendered composites of finished rooms: which blob holds a room's canvas at a tile count and a
scale. A finished room's tiles never change, so neither does such a canvas (server/play/canvas.py)."""

from __future__ import annotations

from uuid import UUID

from storage.database import Connection

__all__ = ["canvas_blob", "record_canvas"]


async def canvas_blob(conn: Connection, room_id: UUID, tile_count: int, tile_side: int) -> str | None:
    # Returns the sha256 of the canvas rendered for the room at this tile count and tile side.
    return await conn.fetchval(
        "SELECT sha256 FROM canvases WHERE room_id = $1 AND tile_count = $2 AND tile_side = $3",
        room_id,
        tile_count,
        tile_side,
    )


async def record_canvas(conn: Connection, room_id: UUID, tile_count: int, tile_side: int, sha256: str) -> None:
    """Remembers a rendered canvas; a render that lost a race to the same row leaves it alone."""
    # Returns nothing.
    await conn.execute(
        """INSERT INTO canvases (room_id, tile_count, tile_side, sha256) VALUES ($1, $2, $3, $4)
           ON CONFLICT (room_id, tile_count, tile_side) DO NOTHING""",
        room_id,
        tile_count,
        tile_side,
        sha256,
    )
