"""Whose turn comes next: fixed turn order, a fresh nonce and deadline per turn; and the end.

A turn passes to the next member still in the order. One who cannot pay for a step when their
turn begins (after their daily allowance, if it is due) is skipped at once, with reason
`no_credits`; if nobody in a whole round can pay, the turn stays with the last of them, who
may still buy credits or get tomorrow's allowance.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from server.play.views import iso
from server.settings import Settings
from storage import Connection, credits, database, members, rooms
from storage import events as event_log
from storage.events import Event, EventKind
from storage.members import Member
from storage.rooms import Room, RoomStatus, Turn

__all__ = [
    "next_turn",
    "passing_turn",
    "skipped_data",
    "new_nonce",
    "advance_turn",
    "skip_turn",
    "finish_room",
    "turn_data",
]


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


async def passing_turn(
    current: Turn,
    order: Sequence[Member],
    turn_seconds: int | None,
    now: datetime,
    can_pay: Callable[[int], Awaitable[bool]],
) -> tuple[Turn, list[tuple[int, Turn]]]:
    """Where the turn goes after `current`: the turn handed to the next member, and then, for each
    player in a row who cannot pay, (that player, the turn after them), never round the whole
    order (nobody able to pay: the turn stays with the last one tried). The live turn is the last
    one named."""
    handed = turn = next_turn(current, order, turn_seconds, now)
    skips: list[tuple[int, Turn]] = []
    tried = {turn.player_id}
    while turn.player_id is not None and not await can_pay(turn.player_id):
        following = next_turn(turn, order, turn_seconds, now)
        if following.player_id in tried:
            break
        tried.add(following.player_id)
        skips.append((turn.player_id, following))
        turn = following
    return handed, skips


def skipped_data(player_id: int, following: Turn) -> dict[str, object]:
    """A `turn.skipped` event's data for a player who cannot pay."""
    return {"reason": "no_credits", "skipped_player_id": player_id, "turn": turn_data(following)}


async def advance_turn(conn: Connection, room: Room, settings: Settings, kind: EventKind, **data: Any) -> list[Event]:
    """Hands the turn to the next member (room locked by the caller) and records it as `kind`
    with `data`; then skips, one event each, players in a row who cannot pay for a step."""
    order, now = await members.order_and_now(conn, room.id)
    if now is None:
        now = await database.now(conn)

    async def can_pay(player_id: int) -> bool:
        balance = await credits.balance_after_daily(conn, player_id, settings.daily_credits)
        return balance >= settings.step_cost

    handed, skips = await passing_turn(room.turn, order, room.turn_seconds, now, can_pay)
    events = [await event_log.append_event(conn, room.id, kind, {**data, "turn": turn_data(handed)}, begin_turn=handed)]
    for player_id, following in skips:
        skipped = skipped_data(player_id, following)
        events.append(
            await event_log.append_event(conn, room.id, EventKind.TURN_SKIPPED, skipped, begin_turn=following)
        )
    return events


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
