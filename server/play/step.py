"""The step, top to bottom (invariants I1-I6 in docs/architecture.md).

    check + TX1   submit(), in play/begin.py: refusals record nothing; else step `running`, lease
                  with a fencing token, debit, `step.started`, in one statement under the room lock
                  that writes only if the room is as the check read it
    outside TX    paint(), under the lease (play/lease.py): neighbours -> context -> generator -> seam
                  correction -> blob written once
    TX2 commit    commit(): only while our fencing token holds: tile, step `committed`, next turn
                  (or the finish), lease released, `step.committed` + `turn.changed`; a read and
                  one statement of writes that holds only if the room is as read (else read again;
                  the last try holds the room lock between them), committed as it ends
    TX2 abort     abort(): step `aborted` with a reason, refund, lease released, `step.aborted`;
                  the turn stays with the player
    recovery      play/recovery.py aborts steps whose lease expired, through abort_if_running()

Every transaction locks the room row first and the lease row second, so they cannot deadlock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import numpy as np

import engine
from server.play import pixels
from server.play.access import locked_room
from server.play.begin import Begun, submit, submit_seen
from server.play.crash_points import crash_point
from server.play.inputs import StepRequest, Studio
from server.play.lease import LeaseLost, keep_lease
from server.play.tiles import finish_tile, neighbours_of
from server.play.turns import passing_turn, skipped_data, turn_data
from server.play.views import tile_json
from server.settings import Settings
from storage import (
    Connection,
    Database,
    NotFound,
    credits,
    database,
    rooms,
    steps,
)
from storage import events as event_log
from storage.events import Event, EventKind
from storage.rooms import Room, RoomStatus
from storage.steps import Step, StepStatus

__all__ = [
    "Studio",
    "StepRequest",
    "Progress",
    "submit",
    "submit_seen",
    "paint",
    "commit",
    "abort",
    "abort_if_running",
]

log = logging.getLogger(__name__)

# A player whose step failed near the deadline keeps at least this long to try again.
_RETRY_GRACE = timedelta(seconds=20)

Progress = Callable[[Step, float, "np.ndarray | None"], Awaitable[None]]


# --- outside any transaction, under the lease --------------------------------------------------


async def paint(studio: Studio, step: Step, begun: Begun, on_progress: Progress) -> list[Event]:
    """Paints the step's tile beside the tiles its check read, and commits it, or aborts; returns
    the events appended."""
    armed = studio.settings.crash_at

    async def progress(fraction: float, preview: np.ndarray | None) -> None:
        crash_point(armed, "during_generation")
        await on_progress(step, fraction, preview)

    try:
        async with keep_lease(studio.db, step, studio.settings.step_lease_seconds):
            tile_size = begun.room.tile_size
            neighbours = await neighbours_of(studio.tiles, begun.addresses, step.cell, tile_size)
            window = engine.Output((2 * tile_size, 2 * tile_size, 4))  # written where it is answered
            context = await pixels.run(engine.build_context, neighbours, step.cell, tile_size, out=window)
            started = time.perf_counter()
            generated = await studio.generator.generate(
                context,
                step.prompt,
                seed=step.seed,
                on_progress=progress,
                safety_identifier=studio.safety_identifier(step.user_id),
            )
            generator_seconds = time.perf_counter() - started
            studio.metrics.generator_latency.observe(generator_seconds)
            method, tile = studio.settings.seam_method, engine.Output((tile_size, tile_size, 4))
            seams, png = await pixels.run(finish_tile, generated, context, tile_size, method, out=tile)
            sha256 = await studio.blobs.put(png)
            studio.tiles.remember(sha256, seams.tile)
            crash_point(armed, "after_blob_write")
        crash_point(armed, "before_tx2")
        generator_ms = int(generator_seconds * 1000)
        events = await commit(
            studio.db, studio.settings, step, sha256, seams.seam_score, generator_ms, context_drift=seams.context_drift
        )
    except engine.GeneratorFailure as exc:
        # A failure no player can fix (bad key, model gone, quota) is an operator's alarm.
        level = logging.ERROR if exc.alarm else logging.INFO
        log.log(level, "step %s: generator failed (%s): %s", step.id, exc.reason, exc)
        studio.metrics.generator_failures.labels(exc.reason).inc()
        events = await abort(studio.db, step, exc.reason)
    except LeaseLost:
        log.warning("step %s lost its lease", step.id)
        events = await abort(studio.db, step, "lease_lost")
    except asyncio.CancelledError:
        # Shutting down: refund now rather than make the player wait for the lease to expire.
        studio.metrics.count_outcome(await asyncio.shield(abort(studio.db, step, "shutdown")))
        raise
    except Exception:
        log.exception("step %s failed", step.id)
        events = await abort(studio.db, step, "internal_error")
    studio.metrics.count_outcome(events)
    return events


# --- TX2 --------------------------------------------------------------------------------------


async def commit(
    db: Database,
    settings: Settings,
    step: Step,
    sha256: str,
    seam_score: float,
    generator_ms: int,
    *,
    context_drift: float | None = None,
) -> list[Event]:
    async with db.acquire() as conn:
        for attempt in range(_COMMITS):
            # The last attempt holds the room lock from its read to its writes: nothing moves it.
            locking = attempt == _COMMITS - 1
            async with conn.transaction() if locking else contextlib.nullcontext():
                events = await _commit_once(conn, settings, step, sha256, seam_score, generator_ms, context_drift)
            if events is not None:
                return events
    raise RuntimeError(f"step {step.id}: TX2 wrote nothing under the room lock")


# Reads in a row that may find the room changed before TX2's writes (each time, another change
# went in); the last one locks the room until the writes.
_COMMITS = 3


async def _commit_once(
    conn: Connection,
    settings: Settings,
    step: Step,
    sha256: str,
    seam_score: float,
    generator_ms: int,
    context_drift: float | None,
) -> list[Event] | None:
    """TX2's read, then its one statement of writes; None when the room changed in between (the
    writes did nothing: read again)."""
    # The room, our lease, and what the next turn needs: one round trip.
    check = await rooms.lock_for_commit(conn, step.room_id, step.fencing_token)
    if check is None:
        raise NotFound("No such room.")
    room = check.room
    if not check.held:
        raise LeaseLost()
    if room.status is not RoomStatus.PLAYING:
        # The host finished the room while we painted; the lease still let us get here.
        async with conn.transaction():
            return await abort_if_running(conn, await locked_room(conn, room.id), step, "room_finished")
    tile = steps.TileRecord(
        x=step.cell[0],
        y=step.cell[1],
        position=room.tile_count,
        sha256=sha256,
        step_id=step.id,
        author_id=step.user_id,
        prompt=step.prompt,
        seam_score=seam_score,
        context_drift=context_drift,
    )
    committed = {"step_id": str(step.id), "player_id": step.user_id, "tile": tile_json(tile)}
    changes: list[tuple[EventKind, dict]] = [(EventKind.STEP_COMMITTED, committed)]
    turn: rooms.Turn | None = None  # None: the room finishes
    if room.tile_count + 1 >= room.max_steps or engine.frontier([*check.path, step.cell], room.extent) is None:
        changes.append((EventKind.ROOM_FINISHED, {"reason": "complete"}))
    else:
        turn, passing = await _next_turn(conn, room, check, settings)
        changes += passing
    crash_point(settings.crash_at, "inside_tx2")
    # The tile, its count, the step committed, the lease released, the next turn begun (or the
    # room finished) and every event of it: one statement (storage.steps.commit_step), committed
    # as it ends, and only if the room is still as read, so nothing of it can exist without the rest.
    written = await steps.commit_step(
        conn,
        tile,
        room_seq=room.seq,
        room_id=room.id,
        fencing_token=step.fencing_token,
        generator_ms=generator_ms,
        events=[(str(kind), json.dumps(data)) for kind, data in changes],
        next_turn=turn,
    )
    if written is None:
        return None
    seq, at = written
    return [Event(room.id, seq + n, str(kind), data, at) for n, (kind, data) in enumerate(changes)]


async def _next_turn(
    conn: Connection, room: Room, check: rooms.CommitCheck, settings: Settings
) -> tuple[rooms.Turn, list[tuple[EventKind, dict]]]:
    """The turn after this step and its events, as turns.advance_turn() passes it (turns.py's
    passing_turn decides), written by the caller's commit_step()."""

    async def can_pay(player_id: int) -> bool:
        balance = check.balances[player_id]  # read with the room by TX2's read
        if balance < settings.daily_credits:
            # The allowance may be due (granted at most once a day): a transaction only then.
            async with conn.transaction():
                balance = await credits.balance_after_daily(conn, player_id, settings.daily_credits)
        return balance >= settings.step_cost

    handed, skips = await passing_turn(room.turn, check.order, room.turn_seconds, check.now, can_pay)
    passing: list[tuple[EventKind, dict]] = [(EventKind.TURN_CHANGED, {"turn": turn_data(handed)})]
    passing += [(EventKind.TURN_SKIPPED, skipped_data(player, following)) for player, following in skips]
    return (skips[-1][1] if skips else handed), passing


async def abort(db: Database, step: Step, reason: str) -> list[Event]:
    async with db.acquire() as conn, conn.transaction():
        room = await locked_room(conn, step.room_id)
        return await abort_if_running(conn, room, step, reason)


async def abort_if_running(conn: Connection, room: Room, step: Step, reason: str) -> list[Event]:
    """Aborts and refunds the step if it is still running (the room is locked by the caller);
    a step that already finished, say by a reaper, is left alone, so a refund happens once."""
    if not await steps.finish_step(conn, step.id, StepStatus.ABORTED, reason=reason):
        return []
    await credits.post_credits(conn, step.user_id, step.cost, credits.LedgerKind.STEP_REFUND, step_id=step.id)
    await steps.release_lease(conn, room.id, step.fencing_token)
    data: dict = {"step_id": str(step.id), "player_id": step.user_id, "reason": reason, "refund": step.cost}
    if room.status is RoomStatus.PLAYING:
        # The turn stays with the player; the event says so, with the deadline it may extend.
        turn = room.turn
        now = await database.now(conn)
        if turn.deadline is not None and turn.deadline < now + _RETRY_GRACE:
            turn = rooms.Turn(turn.number, turn.player_id, turn.nonce, now + _RETRY_GRACE)
            await rooms.set_turn(conn, room.id, turn)
        data["turn"] = turn_data(turn)
    return [await event_log.append_event(conn, room.id, EventKind.STEP_ABORTED, data)]
