"""Whose turn comes next: fixed turn order, a fresh nonce and deadline per turn; and the end.

A turn passes to the next member still in the order. One who cannot pay for a step when their
turn begins (after their daily allowance, if it is due) is skipped at once, with reason
`no_credits`; if nobody in a whole round can pay, the turn stays with the last of them, who
may still buy credits or get tomorrow's allowance.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from server.play.views import iso
from server.settings import Settings
from storage import Connection, credits, database, members, rooms
from storage import events as event_log
from storage.events import Event, EventKind
from storage.members import Member
from storage.rooms import Room, RoomStatus, Turn

__all__ = ["next_turn", "new_nonce", "advance_turn", "skip_turn", "finish_room", "turn_data"]


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def _deadline(turn_seconds: int | None, now: datetime) -> datetime | None:
    return None if turn_seconds is None else now + timedelta(seconds=turn_seconds)


def next_turn(current: Turn, order: Sequence[Member], turn_seconds: int | None, now: datetime) -> Turn:
    """The member after the current player in turn order who is still in it, wrapping around.
    Members who joined mid-game sit at the end of the order, so they come up when it reaches them;
    `order` holds those who left too, so the current player's place is known even if they left."""
    active = [member for member in order if member.active]
    if not active:
        raise RuntimeError("a turn needs a member to pass to")
    positions = {member.user_id: member.position for member in order}
    current_position = -1 if current.player_id is None else positions.get(current.player_id, -1)
    later = [member for member in active if member.position > current_position]
    player = (later or active)[0]
    return Turn(current.number + 1, player.user_id, new_nonce(), _deadline(turn_seconds, now))


async def advance_turn(conn: Connection, room: Room, settings: Settings, kind: EventKind, **data: Any) -> list[Event]:
    """Hands the turn to the next member (room locked by the caller) and records it as `kind`
    with `data`; then skips, one event each, players in a row who cannot pay for a step."""
    order, now = await members.order_and_now(conn, room.id)
    if now is None:
        now = await database.now(conn)
    turn = next_turn(room.turn, order, room.turn_seconds, now)
    events = [await event_log.append_event(conn, room.id, kind, {**data, "turn": turn_data(turn)}, begin_turn=turn)]
    tried = {turn.player_id}
    while not await _can_pay(conn, turn, settings):
        following = next_turn(turn, order, room.turn_seconds, now)
        if following.player_id in tried:
            break  # nobody can pay: the turn stays where it is
        tried.add(following.player_id)
        skipped = {"reason": "no_credits", "skipped_player_id": turn.player_id, "turn": turn_data(following)}
        events.append(
            await event_log.append_event(conn, room.id, EventKind.TURN_SKIPPED, skipped, begin_turn=following)
        )
        turn = following
    return events


async def _can_pay(conn: Connection, turn: Turn, settings: Settings) -> bool:
    if turn.player_id is None:
        return True
    return await credits.balance_after_daily(conn, turn.player_id, settings.daily_credits) >= settings.step_cost


async def skip_turn(conn: Connection, room: Room, settings: Settings, reason: str) -> list[Event]:
    """Passes the live turn on without a step (room locked, no step running)."""
    return await advance_turn(
        conn, room, settings, EventKind.TURN_SKIPPED, reason=reason, skipped_player_id=room.turn.player_id
    )


def turn_data(turn: Turn) -> dict[str, object]:
    """The turn as events store it; readers strip the nonce for all but its player."""
    return {"number": turn.number, "player_id": turn.player_id, "deadline": iso(turn.deadline), "nonce": turn.nonce}


async def finish_room(conn: Connection, room: Room, reason: str) -> Event:
    await rooms.set_status(conn, room, RoomStatus.FINISHED)
    return await event_log.append_event(conn, room.id, EventKind.ROOM_FINISHED, {"reason": reason})
