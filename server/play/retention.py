"""Retention: what nobody can ask for any more is deleted, on every instance, every
`RETENTION_INTERVAL_SECONDS` (racing instances delete the same things, which is harmless).

- Blobs that no tile and no rendered canvas names, once older than `BLOB_GRACE_SECONDS`: a step
  that was aborted after writing its blob (lease lost, room finished, a crash before TX2) leaves
  one. A step commits within its lease of writing its blob (TX2 checks the lease, and nothing
  renews it after the write), so a grace longer than the lease never deletes a blob a running step
  may still commit; settings refuse a shorter one.
- Events older than `EVENT_RETENTION_DAYS` and more than `WS_RESUME_WINDOW` behind their room's
  head: a resume from before them gets a snapshot (DESIGN section 6), which is built from the
  tables, never from events.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

from server.play.every import every
from server.settings import Settings
from storage import BlobStore, Database, Unavailable
from storage import retention as retained

__all__ = ["sweep_blobs", "prune_events", "retain_once", "retention"]

log = logging.getLogger(__name__)

# Keys asked about per query, and rooms pruned per statement: bounded work per round trip.
_KEY_BATCH = 500
_ROOM_BATCH = 100


async def sweep_blobs(db: Database, blobs: BlobStore, grace_seconds: float) -> int:
    """Deletes the blobs older than the grace that nothing refers to; returns how many."""
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
    deleted = 0
    batch: list[str] = []
    async for key, written in blobs.scan():
        if written < cutoff:
            batch.append(key)
        if len(batch) >= _KEY_BATCH:
            deleted += await _delete_unreferenced(db, blobs, batch)
            batch = []
    if batch:
        deleted += await _delete_unreferenced(db, blobs, batch)
    return deleted


async def _delete_unreferenced(db: Database, blobs: BlobStore, keys: list[str]) -> int:
    async with db.acquire() as conn:
        doomed = await retained.unreferenced_blobs(conn, keys)
    for key in doomed:
        await blobs.delete(key)
    return len(doomed)


async def prune_events(db: Database, *, keep_last: int, older_than_seconds: float) -> int:
    """Deletes the events no resume will ask for; returns how many."""
    deleted = 0
    async with db.acquire() as conn:
        while pruned := await retained.prune_events(
            conn, keep_last=keep_last, older_than_seconds=older_than_seconds, room_limit=_ROOM_BATCH
        ):
            deleted += pruned
    return deleted


async def retain_once(db: Database, blobs: BlobStore, settings: Settings) -> tuple[int, int]:
    """One pass; returns (blobs deleted, events deleted)."""
    events = await prune_events(
        db, keep_last=settings.ws_resume_window, older_than_seconds=settings.event_retention_days * 86400
    )
    swept = await sweep_blobs(db, blobs, settings.blob_grace_seconds)
    if swept or events:
        log.info("retention: deleted %d unreferenced blobs and %d old events", swept, events)
    return swept, events


def retention(db: Database, blobs: BlobStore, settings: Settings) -> AbstractAsyncContextManager[None]:
    """Runs retain_once every `settings.retention_interval_seconds` until closed (not at start-up,
    which it would only slow)."""

    async def do_pass() -> None:
        try:
            await retain_once(db, blobs, settings)
        except Unavailable as exc:
            log.warning("retention pass skipped: %s", exc.message)  # an outage, not a bug: no trace
        except Exception:
            log.exception("retention pass failed")

    return every(settings.retention_interval_seconds, do_pass, name="retention")
