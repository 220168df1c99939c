"""What the retention job may delete (server/play/retention.py): blobs nothing refers to, and
events too old and too far behind their room's head for any resume to ask for."""

from __future__ import annotations

from storage.database import Connection

__all__ = ["unreferenced_blobs", "prune_events"]


async def unreferenced_blobs(conn: Connection, keys: list[str]) -> list[str]:
    """Those of `keys` that no tile, rendered canvas, display copy or timelapse names."""
    # Returns the keys without a referring row.
    rows = await conn.fetch(
        """SELECT k FROM unnest($1::text[]) AS k
           WHERE NOT EXISTS (SELECT 1 FROM tiles t WHERE t.sha256 = k)
             AND NOT EXISTS (SELECT 1 FROM canvases c WHERE c.sha256 = k)
             AND NOT EXISTS (SELECT 1 FROM display_copies d WHERE d.sha256 = k)
             AND NOT EXISTS (SELECT 1 FROM timelapses l WHERE l.sha256 = k)""",
        keys,
    )
    return [row["k"] for row in rows]


async def prune_events(conn: Connection, *, keep_last: int, older_than_seconds: float, room_limit: int) -> int:
    """In up to `room_limit` rooms, deletes the events that are more than `keep_last` behind the
    room's head and older than `older_than_seconds`. Each room loses a prefix of its log, up to
    the newest such event, so what remains is a gap-free run ending at its head (an event's `at`
    is its transaction's start, not quite in seq order); snapshots, built from the tables, stand
    for what went."""
    # Returns how many events were deleted.
    return await conn.fetchval(
        """WITH bounds AS (
               SELECT r.id, least(r.seq - $1, (SELECT max(e.seq) FROM room_events e
                   WHERE e.room_id = r.id AND e.at < now() - make_interval(secs => $2))) AS upto
               FROM rooms r
               WHERE EXISTS (SELECT 1 FROM room_events e WHERE e.room_id = r.id AND e.seq <= r.seq - $1
                             AND e.at < now() - make_interval(secs => $2))
               LIMIT $3),
           deleted AS (
               DELETE FROM room_events e USING bounds b WHERE e.room_id = b.id AND e.seq <= b.upto RETURNING 1)
           SELECT count(*) FROM deleted""",
        keep_last,
        float(older_than_seconds),
        room_limit,
    )
