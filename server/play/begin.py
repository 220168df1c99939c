"""Check + TX1 of the step (server/play/step.py has the rest of the state machine).

Two round trips and no transaction held open between them. The check reads the room after its
lock (rooms.lock_for_step()): the Idempotency-Key's step, or the facts it checks (who may see the
room, membership, `playing`, whose turn, `turn_nonce`, no running step, the target cell) and the
tiles the step will paint beside, which painting takes from here rather than read again. TX1 is
one statement (steps.begin_step()): under the room lock again, and only if the room's seq has not
moved since the check (every change the check looks at appends an event), the step `running`, its
lease with a fencing token, the debit and `step.started`. A moved seq writes nothing and the check
runs again; a refusal records nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from uuid import UUID

import engine
from server.play.crash_points import crash_point
from server.play.inputs import StepRequest
from server.settings import Settings
from storage import Conflict, Connection, Database, Forbidden, NotFound, Unavailable, credits, rooms, steps
from storage.accounts import User
from storage.events import Event, EventKind
from storage.rooms import Room, RoomMode, RoomStatus
from storage.steps import Step

__all__ = ["Begun", "submit", "submit_seen"]


@dataclass(frozen=True)
class Begun:
    """What the check read for a step it began: the room, and its tiles' blob addresses by cell,
    which the step paints beside. While the step's lease holds nobody else can place a tile, so
    painting need not read them again."""

    room: Room
    addresses: dict[engine.Cell, str]


async def submit(
    db: Database, settings: Settings, room_id: UUID, user: User, key: str, request: StepRequest
) -> tuple[Step, list[Event], bool]:
    """Checks and begins a step; returns (step, events appended, replayed).

    A replayed Idempotency-Key returns the original step and starts nothing, even when the
    original is racing in another request right now: the key is looked up under the room lock,
    and the unique (user, key) row decides between requests for different rooms.
    """
    step, events, replayed, _ = await submit_seen(db, settings, room_id, user, key, request)
    return step, events, replayed


async def submit_seen(
    db: Database, settings: Settings, room_id: UUID, user: User, key: str, request: StepRequest
) -> tuple[Step, list[Event], bool, Begun | None]:
    """submit(), plus what the check read when a step began (None for a replay): the room, so that
    the caller need not read it again to answer, and the tiles, so that painting need not either."""
    fingerprint = request.fingerprint(room_id)
    async with db.acquire() as conn:
        for _ in range(_CHECKS):
            try:
                begun = await _check_and_begin(conn, settings, room_id, user, key, request, fingerprint)
            except Conflict as exc:
                # A request with this key for another room (which this room's lock does not order)
                # may have won the unique (user, key) row meanwhile.
                if exc.code not in ("idempotency_key_reused", "step_in_flight"):
                    raise
                original = _replayed(await steps.step_by_key(conn, user.id, key), fingerprint)
                if original is None:
                    raise
                return original, [], True, None
            if begun is not None:
                break
        else:
            raise Unavailable("This room is changing too fast; try again shortly.", code="busy", retry_after=1)
    if isinstance(begun, Step):
        return begun, [], True, None
    step, started, seen = begun
    crash_point(settings.crash_at, "after_tx1")
    return step, [started], False, seen


# Checks in a row that may find the room changed before TX1 (each time, another change went in).
_CHECKS = 5


def _replayed(step: Step | None, fingerprint: bytes) -> Step | None:
    if step is not None and step.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was used for a different request.", code="idempotency_key_reused")
    return step


async def _check_and_begin(
    conn: Connection,
    settings: Settings,
    room_id: UUID,
    user: User,
    key: str,
    request: StepRequest,
    fingerprint: bytes,
) -> tuple[Step, Event, Begun] | Step | None:
    """The check, then TX1 if it passes; None when the room changed in between (check again)."""
    check = await rooms.lock_for_step(conn, room_id, user.id, key)
    # A known key answers before any turn check: the turn may have moved on since the original.
    original = _replayed(check.original, fingerprint)
    if original is not None:
        return original
    room = check.room
    if room is None:
        raise NotFound("No such room.")
    if not check.member:
        if room.mode is RoomMode.FOLDED:
            raise NotFound("No such room.")
        raise Forbidden("Only players in this room can take steps.", code="not_a_member")
    if room.status is not RoomStatus.PLAYING:
        raise Conflict("The room is not playing.", code="room_not_playing")
    if room.turn.player_id != user.id:
        raise Forbidden("It is not your turn.", code="not_your_turn")
    if request.turn_nonce != room.turn.nonce:
        raise Conflict("That turn is over; reload to see the current one.", code="stale_nonce")
    if check.running:
        raise Conflict("A step is already running in this room.", code="step_in_flight")
    try:
        cell = engine.target_cell(check.path, request.direction, room.extent)
    except engine.CellUnavailable as exc:
        raise Conflict("That direction has no free cell.", code="cell_unavailable") from exc
    crash_point(settings.crash_at, "after_check")

    step_id = uuid.uuid4()
    cost = settings.step_cost
    data = {"step_id": str(step_id), "player_id": user.id, "turn_number": room.turn.number}
    data.update(direction=request.direction.value, cell=list(cell), prompt=request.prompt, cost=cost)
    # TX1, one statement: if the room's seq is still the one checked, the daily allowance if due
    # (the first step of the day is one of the moments it is), the step, its lease and fencing
    # token, the debit and `step.started`.
    begun = await steps.begin_step(
        conn,
        room_seq=room.seq,
        daily_allowance=settings.daily_credits,
        step_id=step_id,
        room_id=room.id,
        user_id=user.id,
        idempotency_key=key,
        request_hash=fingerprint,
        turn_number=room.turn.number,
        cell=cell,
        prompt=request.prompt,
        direction=request.direction.value,
        seed=int.from_bytes(step_id.bytes[:8], "big") >> 1,
        cost=cost,
        lease_seconds=settings.step_lease_seconds,
        event_kind=EventKind.STEP_STARTED,
        event_data=json.dumps(data),
        debit_kind=credits.LedgerKind.STEP_DEBIT,
    )
    if begun is None:
        return None
    step, seq, at = begun
    seen = Begun(room, check.addresses)
    return step, Event(room.id, seq, str(EventKind.STEP_STARTED), data, at), seen
