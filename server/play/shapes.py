"""The JSON shapes the API answers with, as types: the views build them and /openapi.json is
generated from them (server/http/openapi.py), so a field exists in one place.

`Annotated` metadata only adds to the generated JSON Schema (a format, a length, a description);
to mypy each is the plain type.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from engine import TILE_SIZES
from storage.events import EventKind

__all__ = [
    "DirectionName",
    "RoomModeName",
    "RoomStatusName",
    "Uuid",
    "Moment",
    "TileJson",
    "TurnJson",
    "MemberJson",
    "RunningStepJson",
    "RoomSnapshot",
    "SummaryTurnJson",
    "RoomSummary",
    "StepJson",
    "EventJson",
]

DirectionName = Literal["left", "right", "up", "down"]
RoomModeName = Literal["open", "folded"]
RoomStatusName = Literal["lobby", "playing", "finished"]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Cell = Annotated[list[int], Field(min_length=2, max_length=2, description="[x, y]")]


class TileJson(TypedDict):
    x: int
    y: int
    url: Annotated[str, Field(pattern=r"^/blobs/[0-9a-f]{64}\.png$")]
    step_id: Uuid
    author_id: int
    prompt: str
    position: int
    seam_score: float | None
    context_drift: float | None


class TurnJson(TypedDict):
    """The live turn; outside play it has a number and no player."""

    number: int
    player_id: int | None
    deadline: Moment | None
    nonce: NotRequired[Annotated[str, Field(description="Only for the player whose turn it is.")]]


class MemberJson(TypedDict):
    user_id: int
    display_name: str
    position: int


class FormerMemberJson(TypedDict):
    user_id: int
    display_name: str


class RunningStepJson(TypedDict):
    """The step in flight; where and what are hidden from others in a folded room."""

    id: Uuid
    player_id: int
    direction: NotRequired[DirectionName]
    cell: NotRequired[Cell]
    prompt: NotRequired[str]


class RoomSnapshot(TypedDict):
    id: Uuid
    name: str
    mode: RoomModeName
    status: RoomStatusName
    host_id: int
    tile_size: Annotated[int, Field(json_schema_extra={"enum": list(TILE_SIZES)})]
    extent: Annotated[list[int], Field(min_length=2, max_length=2, description="[columns, rows]")]
    max_steps: int
    max_members: int
    turn_seconds: int | None
    members: Annotated[list[MemberJson], Field(description="The turn order now.")]
    former_members: Annotated[list[FormerMemberJson], Field(description="Who left or was removed.")]
    turn: TurnJson
    tiles: Annotated[list[TileJson], Field(description="Empty in a folded room till it ends.")]
    tile_count: int
    frontier: Cell | None
    free_directions: list[DirectionName]
    step: RunningStepJson | None
    seq: int
    created_at: Moment
    rematch_id: Annotated[Uuid | None, Field(description="The room this one's players moved on to.")]
    invite_code: NotRequired[Annotated[str, Field(description="Members only.")]]


class SummaryTurnJson(TypedDict):
    number: int
    player_id: int | None
    player_name: str | None


class RoomSummary(TypedDict):
    """A room in the lobby's list (`GET /api/rooms`)."""

    id: Uuid
    name: str
    mode: RoomModeName
    status: RoomStatusName
    host_id: int
    member: Annotated[bool, Field(description="False for an open room to watch.")]
    member_count: int
    tile_count: int
    max_steps: int
    turn: Annotated[SummaryTurnJson | None, Field(description="Null unless playing.")]
    seq: int
    created_at: Moment


class StepJson(TypedDict):
    """A folded room hides direction, cell, prompt and tile from all but the painter."""

    id: Uuid
    room_id: Uuid
    player_id: int
    status: Literal["running", "committed", "aborted"]
    reason: Annotated[str | None, Field(description="Why an aborted step aborted.")]
    turn_number: int
    created_at: Moment
    finished_at: Moment | None
    direction: NotRequired[DirectionName]
    cell: NotRequired[Cell]
    prompt: NotRequired[str]
    tile: TileJson | None


class EventJson(TypedDict):
    seq: Annotated[int, Field(ge=1)]
    kind: Annotated[str, Field(json_schema_extra={"enum": [kind.value for kind in EventKind]})]
    data: Annotated[dict[str, Any], Field(description="Depends on the kind (DESIGN.md section 6).")]
    at: Moment
