"""The service's heartbeat: one row every instance's reaper beats, so that a gap in it means no
instance was serving (a full outage), which turn clocks must not count."""

from __future__ import annotations

from storage.database import Connection, returned

__all__ = ["beat"]


async def beat(conn: Connection) -> float:
    """Beats the heartbeat; returns the seconds since the previous beat, by any instance. The row
    is locked until the caller's transaction ends, so one instance sees a given gap."""
    if not conn.is_in_transaction():
        raise RuntimeError("beat needs the caller's transaction")
    # Returns the time since the previous beat, in seconds, the row locked.
    row = await conn.fetchrow(
        "SELECT extract(epoch FROM now() - heartbeat_at) AS gap FROM service_clock WHERE id = 1 FOR UPDATE"
    )
    # Returns nothing.
    await conn.execute("UPDATE service_clock SET heartbeat_at = now() WHERE id = 1")
    return float(returned(row)["gap"])
