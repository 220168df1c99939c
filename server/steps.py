"""The step, top to bottom (DESIGN.md section 4).

    check + TX1   submit(): refusals record nothing; else step `running`, lease with a fencing
                  token, debit, `step.started`, all in one transaction under the room lock
    outside TX    run(): neighbours -> context -> generator (lease renewed meanwhile) -> seam
                  correction -> blob written once
    TX2 commit    commit(): only while our fencing token holds: tile, step `committed`, next turn
                  (or the finish), lease released, `step.committed` + `turn.changed`
    TX2 abort     abort(): step `aborted` with a reason, refund, lease released, `step.aborted`;
                  the turn stays with the player
    recovery      server/recovery.py aborts steps whose lease expired, through abort()

Every transaction locks the room row first and the lease row second, so they cannot deadlock.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import engine
from server.faults import crash_point
from server.services import Services
from server.turns import advance_turn, finish_room, turn_data
from server.views import tile_json
from storage import Conflict, Forbidden, NotFound, credits
from storage import events as event_log
from storage import rooms, steps
from storage.accounts import User
from storage.events import Event, EventKind
from storage.rooms import Room, RoomMode, RoomStatus
from storage.steps import Step, StepStatus

__all__ = [
    "StepRequest",
    "LeaseLost",
    "submit",
    "run",
    "commit",
    "abort",
    "abort_if_running",
    "load_neighbours",
    "record_outcome",
]

log = logging.getLogger(__name__)

# A player whose step failed near the deadline keeps at least this long to try again.
_RETRY_GRACE = timedelta(seconds=20)


@dataclass(frozen=True)
class StepRequest:
    turn_nonce: str
    prompt: str
    direction: engine.Direction

    def fingerprint(self, room_id: UUID) -> bytes:
        """What a replay must repeat exactly to count as the same request."""
        canonical = json.dumps(
            [str(room_id), self.turn_nonce, self.prompt, self.direction.value], separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).digest()


class LeaseLost(Exception):
    """Our fencing token no longer holds the room: another instance has taken over."""


# --- check + TX1 ------------------------------------------------------------------------------


async def submit(
    services: Services, room_id: UUID, user: User, key: str, request: StepRequest
) -> tuple[Step, list[Event], bool]:
    """Checks and begins a step; returns (step, events appended, replayed).

    A replayed Idempotency-Key returns the original step and starts nothing, even when the
    original is racing in another request right now: the unique (user, key) row decides.
    """
    fingerprint = request.fingerprint(room_id)
    async with services.db.acquire() as conn:
        original = await _original(conn, user, key, fingerprint)
        if original is not None:
            return original, [], True
        try:
            async with conn.transaction():
                step, started = await _check_and_begin(conn, services, room_id, user, key, request, fingerprint)
        except Conflict as exc:
            if exc.code not in ("idempotency_key_reused", "step_in_flight"):
                raise
            original = await _original(conn, user, key, fingerprint)
            if original is None:
                raise
            return original, [], True
    crash_point(services.settings.crash_at, "after_tx1")
    return step, [started], False


async def _original(conn, user: User, key: str, fingerprint: bytes) -> Step | None:
    step = await steps.step_by_key(conn, user.id, key)
    if step is not None and step.request_hash != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request.", code="idempotency_key_reused"
        )
    return step


async def _check_and_begin(
    conn, services: Services, room_id: UUID, user: User, key: str, request: StepRequest, fingerprint: bytes
) -> tuple[Step, Event]:
    room = await rooms.lock_room(conn, room_id)
    if room is None:
        raise NotFound("No such room.")
    if not await rooms.is_member(conn, room.id, user.id):
        if room.mode is RoomMode.FOLDED:
            raise NotFound("No such room.")
        raise Forbidden("Only players in this room can take steps.", code="not_a_member")
    if room.status is not RoomStatus.PLAYING:
        raise Conflict("The room is not playing.", code="room_not_playing")
    if room.turn.player_id != user.id:
        raise Forbidden("It is not your turn.", code="not_your_turn")
    if request.turn_nonce != room.turn.nonce:
        raise Conflict("That turn is over; reload to see the current one.", code="stale_nonce")
    if await steps.running_step(conn, room.id) is not None:
        raise Conflict("A step is already running in this room.", code="step_in_flight")
    path = [(tile.x, tile.y) for tile in await steps.room_tiles(conn, room.id)]
    try:
        cell = engine.target_cell(path, request.direction, room.extent)
    except engine.CellUnavailable as exc:
        raise Conflict("That direction has no free cell.", code="cell_unavailable") from exc
    crash_point(services.settings.crash_at, "after_check")

    step_id = uuid.uuid4()
    token = await steps.next_fencing_token(conn)
    step = await steps.insert_step(
        conn,
        step_id=step_id,
        room_id=room.id,
        user_id=user.id,
        idempotency_key=key,
        request_hash=fingerprint,
        turn_number=room.turn.number,
        cell=cell,
        prompt=request.prompt,
        direction=request.direction.value,
        fencing_token=token,
        seed=int.from_bytes(step_id.bytes[:8], "big") >> 1,
        cost=services.settings.step_cost,
    )
    if not await steps.acquire_lease(conn, room.id, step.id, token, services.settings.step_lease_seconds):
        raise Conflict("A step is already running in this room.", code="step_in_flight")
    await credits.post_credits(conn, user.id, -step.cost, credits.LedgerKind.STEP_DEBIT, step_id=step.id)
    started = await event_log.append_event(
        conn,
        room.id,
        EventKind.STEP_STARTED,
        {
            "step_id": str(step.id),
            "player_id": user.id,
            "turn_number": step.turn_number,
            "direction": step.direction,
            "cell": list(step.cell),
            "prompt": step.prompt,
            "cost": step.cost,
        },
    )
    return step, started


# --- outside any transaction ------------------------------------------------------------------


async def load_neighbours(services: Services, room_id: UUID, cell: tuple[int, int]) -> dict:
    """The decoded tiles of the 3 x 3 cells around `cell`: all the context window can touch."""
    async with services.db.acquire() as conn:
        tiles = await steps.room_tiles(conn, room_id)
    near = [t for t in tiles if abs(t.x - cell[0]) <= 1 and abs(t.y - cell[1]) <= 1]
    pixels = await asyncio.gather(*(services.tiles.get(t.sha256) for t in near))
    return {(t.x, t.y): tile for t, tile in zip(near, pixels, strict=True)}


async def run(services: Services, step: Step, generate) -> list[Event]:
    """Paints the step's tile and commits it, or aborts; returns the events appended.

    `generate(context)` runs the generator under the lease (server/coordinator.py) and raises
    LeaseLost when the lease cannot be renewed.
    """
    armed = services.settings.crash_at
    try:
        async with services.db.acquire() as conn:
            room = await rooms.room_by_id(conn, step.room_id)
        neighbours = await load_neighbours(services, room.id, step.cell)
        context = await asyncio.to_thread(engine.build_context, neighbours, step.cell, room.tile_size)
        started = time.perf_counter()
        generated = await generate(context)
        generator_seconds = time.perf_counter() - started
        services.metrics.generator_latency.observe(generator_seconds)
        tile, score = await asyncio.to_thread(engine.correct_seams, generated, context, room.tile_size)
        sha256 = await services.blobs.put(await asyncio.to_thread(engine.encode_png, tile))
        services.tiles.remember(sha256, tile)
        crash_point(armed, "after_blob_write")
        crash_point(armed, "before_tx2")
        events = await commit(services, step, sha256, score, int(generator_seconds * 1000))
    except engine.GeneratorFailure as exc:
        log.info("step %s: generator failed (%s): %s", step.id, exc.reason, exc)
        services.metrics.generator_failures.labels(exc.reason).inc()
        events = await abort(services, step, exc.reason)
    except LeaseLost:
        log.warning("step %s lost its lease", step.id)
        events = await abort(services, step, "lease_lost")
    except asyncio.CancelledError:
        # Shutting down: refund now rather than make the player wait for the lease to expire.
        record_outcome(services, await asyncio.shield(abort(services, step, "shutdown")))
        raise
    except Exception:
        log.exception("step %s failed", step.id)
        events = await abort(services, step, "internal_error")
    record_outcome(services, events)
    return events


def record_outcome(services: Services, events: list[Event]) -> None:
    """Counts finished steps (and committed tiles' seam scores) for /metrics."""
    for event in events:
        if event.kind == EventKind.STEP_COMMITTED:
            services.metrics.steps.labels("committed", "").inc()
            services.metrics.seam_score.observe(event.data["tile"]["seam_score"])
        elif event.kind == EventKind.STEP_ABORTED:
            services.metrics.steps.labels("aborted", event.data["reason"]).inc()


# --- TX2 --------------------------------------------------------------------------------------


async def commit(services: Services, step: Step, sha256: str, seam_score: float, generator_ms: int) -> list[Event]:
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await rooms.lock_room(conn, step.room_id)
            if not await steps.hold_lease(conn, room.id, step.fencing_token):
                raise LeaseLost()
            if room.status is not RoomStatus.PLAYING:
                # The host finished the room while we painted; the lease still let us get here.
                return await abort_if_running(conn, room, step, "room_finished")
            tile = await steps.insert_tile(
                conn,
                room_id=room.id,
                cell=step.cell,
                position=room.tile_count,
                sha256=sha256,
                step_id=step.id,
                author_id=step.user_id,
                prompt=step.prompt,
                seam_score=seam_score,
            )
            crash_point(services.settings.crash_at, "inside_tx2")
            tile_count = await rooms.count_tile(conn, room.id)
            await steps.finish_step(
                conn, step.id, StepStatus.COMMITTED, seam_score=seam_score, generator_ms=generator_ms
            )
            await steps.release_lease(conn, room.id, step.fencing_token)
            events = [
                await event_log.append_event(
                    conn,
                    room.id,
                    EventKind.STEP_COMMITTED,
                    {"step_id": str(step.id), "player_id": step.user_id, "tile": tile_json(room.id, tile)},
                )
            ]
            path = [(t.x, t.y) for t in await steps.room_tiles(conn, room.id)]
            if tile_count >= room.max_steps or engine.frontier(path, room.extent) is None:
                events.append(await finish_room(conn, room, "complete"))
            else:
                events.append(await advance_turn(conn, room, EventKind.TURN_CHANGED))
            return events


async def abort(services: Services, step: Step, reason: str) -> list[Event]:
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await rooms.lock_room(conn, step.room_id)
            return await abort_if_running(conn, room, step, reason)


async def abort_if_running(conn, room: Room, step: Step, reason: str) -> list[Event]:
    """Aborts and refunds the step if it is still running (the room is locked by the caller);
    a step that already finished, say by a reaper, is left alone, so a refund happens once."""
    if not await steps.finish_step(conn, step.id, StepStatus.ABORTED, reason=reason):
        return []
    await credits.post_credits(conn, step.user_id, step.cost, credits.LedgerKind.STEP_REFUND, step_id=step.id)
    await steps.release_lease(conn, room.id, step.fencing_token)
    data = {"step_id": str(step.id), "player_id": step.user_id, "reason": reason, "refund": step.cost}
    if room.status is RoomStatus.PLAYING:
        # The turn stays with the player; the event says so, with the deadline it may extend.
        turn = room.turn
        now = await conn.fetchval("SELECT now()")
        if turn.deadline is not None and turn.deadline < now + _RETRY_GRACE:
            turn = rooms.Turn(turn.number, turn.player_id, turn.nonce, now + _RETRY_GRACE)
            await rooms.set_turn(conn, room.id, turn)
        data["turn"] = turn_data(turn)
    return [await event_log.append_event(conn, room.id, EventKind.STEP_ABORTED, data)]
