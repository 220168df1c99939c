"""Steps, their leases and their tiles: the rows the step state machine moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

from storage.database import Connection, returned
from storage.errors import Conflict

__all__ = [
    "StepStatus",
    "Step",
    "TileRecord",
    "ExpiredLease",
    "insert_step",
    "step_by_key",
    "step_by_id",
    "running_step",
    "finish_step",
    "next_fencing_token",
    "acquire_lease",
    "renew_lease",
    "hold_lease",
    "release_lease",
    "expired_leases",
    "lease_expired",
    "insert_tile",
    "room_tiles",
    "tile_of_step",
]


class StepStatus(StrEnum):
    RUNNING = "running"
    COMMITTED = "committed"
    ABORTED = "aborted"


@dataclass(frozen=True)
class Step:
    id: UUID
    room_id: UUID
    user_id: int
    idempotency_key: str
    request_hash: bytes
    status: StepStatus
    reason: str | None
    turn_number: int
    cell: tuple[int, int]
    prompt: str
    direction: str
    fencing_token: int
    seed: int
    cost: int
    seam_score: float | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class TileRecord:
    x: int
    y: int
    position: int
    sha256: str
    step_id: UUID
    author_id: int
    prompt: str
    seam_score: float | None
    context_drift: float | None = None


@dataclass(frozen=True)
class ExpiredLease:
    room_id: UUID
    step_id: UUID
    fencing_token: int


_STEP_COLUMNS = """id, room_id, user_id, idempotency_key, request_hash, status, reason, turn_number,
    cell_x, cell_y, prompt, direction, fencing_token, seed, cost, seam_score, created_at, finished_at"""
_TILE_COLUMNS = "x, y, position, sha256, step_id, author_id, prompt, seam_score, context_drift"


def _step(row: asyncpg.Record) -> Step:
    fields = dict(row)
    fields["cell"] = (fields.pop("cell_x"), fields.pop("cell_y"))
    fields["status"] = StepStatus(fields["status"])
    return Step(**fields)


async def insert_step(
    conn: Connection,
    *,
    step_id: UUID,
    room_id: UUID,
    user_id: int,
    idempotency_key: str,
    request_hash: bytes,
    turn_number: int,
    cell: tuple[int, int],
    prompt: str,
    direction: str,
    fencing_token: int,
    seed: int,
    cost: int,
) -> Step:
    """Records a running step. A reused key or a second running step in the room is a Conflict
    whose code says which (told apart by constraint name, never by message text)."""
    try:
        # Returns the new step.
        row = await conn.fetchrow(
            f"""INSERT INTO steps (id, room_id, user_id, idempotency_key, request_hash, turn_number,
                    cell_x, cell_y, prompt, direction, fencing_token, seed, cost)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                RETURNING {_STEP_COLUMNS}""",
            step_id,
            room_id,
            user_id,
            idempotency_key,
            request_hash,
            turn_number,
            cell[0],
            cell[1],
            prompt,
            direction,
            fencing_token,
            seed,
            cost,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "steps_user_key":
            raise Conflict("This Idempotency-Key was already used.", code="idempotency_key_reused") from exc
        raise Conflict("A step is already running in this room.", code="step_in_flight") from exc
    return _step(returned(row))


async def step_by_key(conn: Connection, user_id: int, key: str) -> Step | None:
    # Returns the user's step made with this Idempotency-Key.
    row = await conn.fetchrow(
        f"SELECT {_STEP_COLUMNS} FROM steps WHERE user_id = $1 AND idempotency_key = $2", user_id, key
    )
    return None if row is None else _step(row)


async def step_by_id(conn: Connection, step_id: UUID) -> Step | None:
    # Returns the step.
    row = await conn.fetchrow(f"SELECT {_STEP_COLUMNS} FROM steps WHERE id = $1", step_id)
    return None if row is None else _step(row)


async def running_step(conn: Connection, room_id: UUID) -> Step | None:
    # Returns the room's running step, if any.
    row = await conn.fetchrow(f"SELECT {_STEP_COLUMNS} FROM steps WHERE room_id = $1 AND status = 'running'", room_id)
    return None if row is None else _step(row)


async def finish_step(
    conn: Connection,
    step_id: UUID,
    status: StepStatus,
    *,
    reason: str | None = None,
    seam_score: float | None = None,
    context_drift: float | None = None,
    generator_ms: int | None = None,
) -> bool:
    """Moves a running step to committed or aborted; False when it had already finished, which
    is how a late second finisher (a zombie, a racing reaper) learns to do nothing."""
    if status is StepStatus.RUNNING:
        raise RuntimeError("a step cannot finish as running")
    # Returns the command status.
    result = await conn.execute(
        """UPDATE steps SET status = $2, reason = $3, seam_score = $4, generator_ms = $5,
               context_drift = $6, finished_at = now()
           WHERE id = $1 AND status = 'running'""",
        step_id,
        status,
        reason,
        seam_score,
        generator_ms,
        context_drift,
    )
    return result == "UPDATE 1"


async def next_fencing_token(conn: Connection) -> int:
    # Returns a token larger than every token handed out before, on any instance.
    return await conn.fetchval("SELECT nextval('fencing_tokens')")


async def acquire_lease(conn: Connection, room_id: UUID, step_id: UUID, token: int, seconds: float) -> bool:
    """Takes the room's lease for the step; False when someone already holds it."""
    # Returns the command status; no row is inserted when a lease already exists.
    result = await conn.execute(
        """INSERT INTO room_leases (room_id, step_id, fencing_token, expires_at)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4))
           ON CONFLICT (room_id) DO NOTHING""",
        room_id,
        step_id,
        token,
        float(seconds),
    )
    return result == "INSERT 0 1"


async def renew_lease(conn: Connection, room_id: UUID, token: int, seconds: float) -> bool:
    """Extends the lease if it still carries our token and has not expired."""
    # Returns the command status.
    result = await conn.execute(
        """UPDATE room_leases SET expires_at = now() + make_interval(secs => $3)
           WHERE room_id = $1 AND fencing_token = $2 AND expires_at > now()""",
        room_id,
        token,
        float(seconds),
    )
    return result == "UPDATE 1"


async def hold_lease(conn: Connection, room_id: UUID, token: int) -> bool:
    """Locks the lease for the caller's transaction if it is still ours and alive."""
    # Returns whether our unexpired lease row exists (now locked).
    return await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM room_leases
               WHERE room_id = $1 AND fencing_token = $2 AND expires_at > now() FOR UPDATE)""",
        room_id,
        token,
    )


async def release_lease(conn: Connection, room_id: UUID, token: int) -> None:
    # Returns nothing; a lease with another token is left alone.
    await conn.execute("DELETE FROM room_leases WHERE room_id = $1 AND fencing_token = $2", room_id, token)


async def expired_leases(conn: Connection, limit: int = 100) -> list[ExpiredLease]:
    """Leases past their expiry, unlocked: the reaper locks each room and re-checks."""
    # Returns expired lease rows, oldest expiry first.
    rows = await conn.fetch(
        """SELECT room_id, step_id, fencing_token FROM room_leases
           WHERE expires_at <= now() ORDER BY expires_at LIMIT $1""",
        limit,
    )
    return [ExpiredLease(**dict(row)) for row in rows]


async def lease_expired(conn: Connection, room_id: UUID, token: int) -> bool:
    """Whether the lease with this token is still there and expired, locking it if so."""
    # Returns whether the expired lease row exists (now locked).
    return await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM room_leases
               WHERE room_id = $1 AND fencing_token = $2 AND expires_at <= now() FOR UPDATE)""",
        room_id,
        token,
    )


async def insert_tile(
    conn: Connection,
    *,
    room_id: UUID,
    cell: tuple[int, int],
    position: int,
    sha256: str,
    step_id: UUID,
    author_id: int,
    prompt: str,
    seam_score: float,
    context_drift: float | None = None,
) -> TileRecord:
    """Records a committed tile. The cell's primary key is the last guard of 'never repainted'."""
    try:
        # Returns the new tile.
        row = await conn.fetchrow(
            f"""INSERT INTO tiles (room_id, x, y, position, sha256, step_id, author_id, prompt, seam_score,
                    context_drift)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_TILE_COLUMNS}""",
            room_id,
            cell[0],
            cell[1],
            position,
            sha256,
            step_id,
            author_id,
            prompt,
            seam_score,
            context_drift,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("That cell already has a tile.", code="cell_unavailable") from exc
    return TileRecord(**dict(returned(row)))


async def room_tiles(conn: Connection, room_id: UUID) -> list[TileRecord]:
    # Returns the room's tiles in placement order.
    rows = await conn.fetch(f"SELECT {_TILE_COLUMNS} FROM tiles WHERE room_id = $1 ORDER BY position", room_id)
    return [TileRecord(**dict(row)) for row in rows]


async def tile_of_step(conn: Connection, step_id: UUID) -> TileRecord | None:
    # Returns the tile the step made, if it committed.
    row = await conn.fetchrow(f"SELECT {_TILE_COLUMNS} FROM tiles WHERE step_id = $1", step_id)
    return None if row is None else TileRecord(**dict(row))
