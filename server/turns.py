"""Whose turn comes next: fixed turn order, a fresh nonce and deadline per turn."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Sequence

from storage.rooms import Member, Turn

__all__ = ["next_turn", "new_nonce"]


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def _deadline(turn_seconds: int | None, now: datetime) -> datetime | None:
    return None if turn_seconds is None else now + timedelta(seconds=turn_seconds)


def next_turn(current: Turn, members: Sequence[Member], turn_seconds: int | None, now: datetime) -> Turn:
    """The member after the current player in turn order, wrapping around. Members who joined
    mid-game sit at the end of the order, so they come up when the order reaches them."""
    positions = {member.user_id: member.position for member in members}
    current_position = positions.get(current.player_id, -1)
    later = [member for member in members if member.position > current_position]
    player = (later or list(members))[0]
    return Turn(current.number + 1, player.user_id, new_nonce(), _deadline(turn_seconds, now))
