"""The JSON shapes the API answers with, as types: the views build them and /openapi.json is
generated from them, so a field exists in one place."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = ["TileJson", "TurnJson", "MemberJson", "RunningStepJson", "RoomSnapshot", "StepJson", "EventJson"]

DirectionName = Literal["left", "right", "up", "down"]


class TileJson(TypedDict):
    x: int
    y: int
    url: str
    step_id: str
    author_id: int
    prompt: str
    position: int
    seam_score: float | None


class TurnJson(TypedDict):
    """Always present: outside play it has a number and no player."""

    number: int
    player_id: int | None
    deadline: str | None
    nonce: NotRequired[str]  # only for the player whose turn it is


class MemberJson(TypedDict):
    user_id: int
    display_name: str
    position: int


class RunningStepJson(TypedDict):
    """The step a room is painting; where and what only for those who may see it."""

    id: str
    player_id: int
    direction: NotRequired[DirectionName]
    cell: NotRequired[list[int]]
    prompt: NotRequired[str]


class RoomSnapshot(TypedDict):
    id: str
    name: str
    mode: Literal["open", "folded"]
    status: Literal["lobby", "playing", "finished"]
    host_id: int
    tile_size: int
    extent: list[int]
    max_steps: int
    max_members: int
    turn_seconds: int | None
    members: list[MemberJson]
    turn: TurnJson
    tiles: list[TileJson]
    tile_count: int
    frontier: list[int] | None
    free_directions: list[DirectionName]
    step: RunningStepJson | None
    seq: int
    created_at: str | None
    invite_code: NotRequired[str]  # members only


class StepJson(TypedDict):
    id: str
    room_id: str
    player_id: int
    status: Literal["running", "committed", "aborted"]
    reason: str | None
    turn_number: int
    created_at: str | None
    finished_at: str | None
    direction: NotRequired[DirectionName]
    cell: NotRequired[list[int]]
    prompt: NotRequired[str]
    tile: TileJson | None


class EventJson(TypedDict):
    seq: int
    kind: str
    data: dict[str, Any]
    at: str | None
