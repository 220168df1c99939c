"""Who may see what of a room, and the JSON shapes that carry it (docs/protocol.md).

Folded rooms hide pixels, prompts and tile positions from everyone while playing; the painter of
a step may still see their own step, and the player whose turn it is the frontier and its free
directions (`null` and `[]` for everyone else). Everything is revealed when the room finishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast, overload

from engine import free_directions, frontier
from server.play.shapes import (
    DirectionName,
    EventJson,
    RoomSnapshot,
    RoomSummary,
    RunningStepJson,
    StepJson,
    TileJson,
    TurnJson,
)
from storage.events import Event, EventKind
from storage.members import Member
from storage.rooms import Room, RoomMode, RoomStatus, Turn
from storage.steps import Step, TileRecord

__all__ = [
    "Viewer",
    "hides_tiles",
    "room_json",
    "room_summary",
    "step_json",
    "tile_json",
    "event_json",
    "turn_json",
    "iso",
]


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    member: bool


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def hides_tiles(room: Room) -> bool:
    return room.mode is RoomMode.FOLDED and room.status is not RoomStatus.FINISHED


def tile_json(tile: TileRecord) -> TileJson:
    return {
        "x": tile.x,
        "y": tile.y,
        "url": f"/blobs/{tile.sha256}.png",
        "step_id": str(tile.step_id),
        "author_id": tile.author_id,
        "prompt": tile.prompt,
        "position": tile.position,
        "seam_score": tile.seam_score,
        "context_drift": tile.context_drift,
    }


def turn_json(turn: Turn, viewer_id: int | None) -> TurnJson:
    body: TurnJson = {"number": turn.number, "player_id": turn.player_id, "deadline": iso(turn.deadline)}
    if viewer_id is not None and viewer_id == turn.player_id and turn.nonce:
        body["nonce"] = turn.nonce
    return body


def _idle_turn(turn: Turn) -> TurnJson:
    return {"number": turn.number, "player_id": None, "deadline": None}


def room_json(
    room: Room,
    members: Sequence[Member],
    tiles: Sequence[TileRecord],
    running: Step | None,
    viewer: Viewer,
) -> RoomSnapshot:
    path = [(tile.x, tile.y) for tile in tiles]
    playing = room.status is RoomStatus.PLAYING
    head = frontier(path, room.extent)
    sees_way = _sees_the_way(room, viewer)
    body: RoomSnapshot = {
        "id": str(room.id),
        "name": room.name,
        "mode": room.mode.value,
        "status": room.status.value,
        "host_id": room.host_id,
        "tile_size": room.tile_size,
        "extent": list(room.extent),
        "max_steps": room.max_steps,
        "max_members": room.max_members,
        "turn_seconds": room.turn_seconds,
        "members": [
            {"user_id": m.user_id, "display_name": m.display_name, "position": m.position} for m in members if m.active
        ],
        # Who left or was removed, so that their tiles and their events still have a name.
        "former_members": [{"user_id": m.user_id, "display_name": m.display_name} for m in members if not m.active],
        # Always an object: outside play it has a number and no player.
        "turn": turn_json(room.turn, viewer.user_id) if playing else _idle_turn(room.turn),
        "tiles": [] if hides_tiles(room) else [tile_json(tile) for tile in tiles],
        "tile_count": room.tile_count,
        "frontier": list(head) if head is not None and sees_way else None,
        "free_directions": [d.value for d in free_directions(path, room.extent)] if playing and sees_way else [],
        "step": _running_json(running, room, viewer) if running else None,
        "seq": room.seq,
        "created_at": iso(room.created_at),
        "rematch_id": None if room.rematch_id is None else str(room.rematch_id),
    }
    if viewer.member:
        body["invite_code"] = room.invite_code
    return body


def _sees_the_way(room: Room, viewer: Viewer) -> bool:
    """The frontier and its free directions locate other players' tiles: in a folded room still
    playing, only the player whose turn it is sees them (DESIGN section 3)."""
    if not hides_tiles(room):
        return True
    return room.status is RoomStatus.PLAYING and viewer.user_id is not None and viewer.user_id == room.turn.player_id


def room_summary(room: Room, members: Sequence[Member], member: bool) -> RoomSummary:
    """A room in the lobby's list; `member` is False for an open room to watch."""
    names = {m.user_id: m.display_name for m in members}
    player_id = room.turn.player_id
    return {
        "id": str(room.id),
        "name": room.name,
        "mode": room.mode.value,
        "status": room.status.value,
        "host_id": room.host_id,
        "member": member,
        "member_count": len(members),
        "tile_count": room.tile_count,
        "max_steps": room.max_steps,
        "turn": {
            "number": room.turn.number,
            "player_id": player_id,
            "player_name": None if player_id is None else names.get(player_id),
        }
        if room.status is RoomStatus.PLAYING
        else None,
        "seq": room.seq,
        "created_at": iso(room.created_at),
    }


def _running_json(step: Step, room: Room, viewer: Viewer) -> RunningStepJson:
    body: RunningStepJson = {"id": str(step.id), "player_id": step.user_id}
    if _sees_position(step, room, viewer):
        body["direction"], body["cell"], body["prompt"] = _direction(step), list(step.cell), step.prompt
    return body


def _direction(step: Step) -> DirectionName:
    return cast(DirectionName, step.direction)


def _sees_position(step: Step, room: Room, viewer: Viewer) -> bool:
    """Where a step paints and what it asks: hidden in a folded room but from its painter."""
    return not hides_tiles(room) or viewer.user_id == step.user_id


def step_json(step: Step, tile: TileRecord | None, room: Room, viewer: Viewer) -> StepJson:
    body: StepJson = {
        "id": str(step.id),
        "room_id": str(step.room_id),
        "player_id": step.user_id,
        "status": step.status.value,
        "reason": step.reason,
        "turn_number": step.turn_number,
        "created_at": iso(step.created_at),
        "finished_at": iso(step.finished_at),
        "tile": None,
    }
    if _sees_position(step, room, viewer):
        body["direction"], body["cell"], body["prompt"] = _direction(step), list(step.cell), step.prompt
        if tile is not None:
            body["tile"] = tile_json(tile)
    return body


_PRIVATE_IN_FOLDED: dict[str, tuple[str, ...]] = {
    EventKind.STEP_STARTED: ("cell", "direction", "prompt"),
    EventKind.STEP_COMMITTED: ("tile",),
}


def event_json(event: Event, room: Room, viewer_id: int | None) -> EventJson:
    """The event as this viewer may see it: the nonce only for its player, and in a folded room
    still playing no tile, cell or prompt except the viewer's own."""
    data = dict(event.data)
    if "turn" in data and isinstance(data["turn"], dict):
        turn = dict(data["turn"])
        if turn.get("player_id") != viewer_id:
            turn.pop("nonce", None)
        data["turn"] = turn
    hidden = _PRIVATE_IN_FOLDED.get(event.kind, ())
    if hidden and hides_tiles(room) and data.get("player_id") != viewer_id:
        for key in hidden:
            data.pop(key, None)
    return {"seq": event.seq, "kind": event.kind, "data": data, "at": iso(event.at)}
