"""Steps, their leases and their tiles: the rows the step state machine moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg

from storage.database import Connection
from storage.errors import Conflict, PaymentRequired

if TYPE_CHECKING:
    from storage.rooms import Turn  # storage.rooms imports this module

__all__ = [
    "StepStatus",
    "Step",
    "TileRecord",
    "ExpiredLease",
    "step_by_key",
    "step_from_record",
    "step_by_id",
    "running_step",
    "finish_step",
    "renew_lease",
    "hold_lease",
    "release_lease",
    "expired_leases",
    "lease_expired",
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


def _step(row: asyncpg.Record | dict) -> Step:
    fields = dict(row)
    fields["cell"] = (fields.pop("cell_x"), fields.pop("cell_y"))
    fields["status"] = StepStatus(fields["status"])
    return Step(**fields)


def step_from_record(record: asyncpg.Record) -> Step:
    """A Step from a whole `steps` row (a composite a plpgsql function returns), whose columns
    are more than the Step's fields."""
    return _step({name: record[name] for name in _STEP_NAMES})


_STEP_NAMES = [name.strip() for name in _STEP_COLUMNS.split(",")]


async def begin_step(
    conn: Connection,
    *,
    room_seq: int,
    daily_allowance: int,
    step_id: UUID,
    room_id: UUID,
    user_id: int,
    idempotency_key: str,
    request_hash: bytes,
    turn_number: int,
    cell: tuple[int, int],
    prompt: str,
    direction: str,
    seed: int,
    cost: int,
    lease_seconds: float,
    event_kind: str,
    event_data: str,
    debit_kind: str,
) -> tuple[Step, int, datetime] | None:
    """TX1 in one statement (schema.sql's begin_step()), so in a transaction of its own: under the
    room lock, and only if the room's seq is still `room_seq` (the one the check read), the daily
    allowance if due (as credits.grant_daily()), the step `running` with a fresh fencing token, its
    lease, the debit (ledger entry and cached balance, as credits.post_credits() writes them) and the
    `step.started` event (the seq taken from the room row as events.append_event() does, with
    last_step_at and unattended_turns reset).
    Returns (the step, the event's seq, its at); None when the room changed since the check, which
    must then run again. A reused key or a second running step is a Conflict whose code says which;
    a debit past zero is PaymentRequired."""
    try:
        # Returns the new step and the appended event's seq and time; no row if the room moved.
        row = await conn.fetchrow(
            "SELECT * FROM begin_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            room_seq,
            daily_allowance,
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
            seed,
            cost,
            float(lease_seconds),
            event_kind,
            event_data,
            debit_kind,
        )
    except asyncpg.CheckViolationError as exc:
        raise PaymentRequired("Not enough credits for this.") from exc
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "steps_user_key":
            raise Conflict("This Idempotency-Key was already used.", code="idempotency_key_reused") from exc
        raise Conflict("A step is already running in this room.", code="step_in_flight") from exc
    if row is None:
        return None
    return step_from_record(row["r_step"]), row["r_seq"], row["r_at"]


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


async def commit_step(
    conn: Connection,
    tile: TileRecord,
    *,
    room_seq: int,
    room_id: UUID,
    fencing_token: int,
    generator_ms: int,
    events: list[tuple[str, str]],
    next_turn: Turn | None,
) -> tuple[int, datetime] | None:
    """TX2's writes in one statement (schema.sql's commit_step()), so in a transaction of its own
    unless the caller holds one: under the room lock, and only if the room's seq is still
    `room_seq` and our unexpired lease is still there, the tile (its cell's key the last guard of
    'never repainted'), the room's tile count, finish_step() as committed, release_lease(), then
    either `next_turn` begun (as rooms.begin_turn()) or, when it is None, the room finished (as
    rooms.set_status()), and `events` (kind, JSON data) appended in order with the next seqs (as
    events.append_event() takes them). Returns (the first event's seq, the events' at); None when
    the room moved or the lease is gone, and nothing was written."""
    turn: tuple[object, ...] = (None, None, None, None)
    if next_turn is not None:
        turn = (next_turn.number, next_turn.player_id, next_turn.nonce, next_turn.deadline)
    try:
        # Returns the first appended event's seq and the events' time; no row if nothing was written.
        row = await conn.fetchrow(
            """SELECT * FROM commit_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                                         $17, $18, $19, $20)""",
            room_seq,
            room_id,
            fencing_token,
            tile.x,
            tile.y,
            tile.position,
            tile.sha256,
            tile.step_id,
            tile.author_id,
            tile.prompt,
            tile.seam_score,
            tile.context_drift,
            generator_ms,
            [kind for kind, _ in events],
            [data for _, data in events],
            next_turn is None,
            *turn,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("That cell already has a tile.", code="cell_unavailable") from exc
    return None if row is None else (row["r_seq"], row["r_at"])


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


async def room_tiles(conn: Connection, room_id: UUID) -> list[TileRecord]:
    # Returns the room's tiles in placement order.
    rows = await conn.fetch(f"SELECT {_TILE_COLUMNS} FROM tiles WHERE room_id = $1 ORDER BY position", room_id)
    return [TileRecord(**dict(row)) for row in rows]


async def tile_of_step(conn: Connection, step_id: UUID) -> TileRecord | None:
    # Returns the tile the step made, if it committed.
    row = await conn.fetchrow(f"SELECT {_TILE_COLUMNS} FROM tiles WHERE step_id = $1", step_id)
    return None if row is None else TileRecord(**dict(row))
