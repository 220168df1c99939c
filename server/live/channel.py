"""One room's sockets on this instance, and the room's events delivered to them in seq order.

A channel never touches Postgres itself: events that follow on from the last one delivered go out
at once; events past a gap wait in its backlog until the hub has fetched the missing range
(`Hub._fill`, a task of the room's own, so that one room's query never holds up the bus
listener and with it every other room of the instance).
"""

from __future__ import annotations

import asyncio
import dataclasses

from server.live.connection import Connection
from server.live.presentation import present_frame
from server.play.publisher import frame
from server.play.views import event_json
from storage.events import Event, EventKind
from storage.presentations import Presentation
from storage.rooms import Room, RoomStatus

__all__ = ["RoomChannel"]

_MEMBERSHIP = (EventKind.MEMBER_JOINED, EventKind.MEMBER_LEFT)
# Events held past a gap beyond this are dropped: the fill reads them from Postgres anyway.
_BACKLOG_MAX = 1000


class RoomChannel:
    def __init__(self, room: Room) -> None:
        self.room = room
        self.last_seq = room.seq
        self.connections: set[Connection] = set()
        # Serialises opening the channel (subscribe, then read the head) and gap fills.
        self.lock = asyncio.Lock()
        self.opened = False
        self.backlog: list[Event] = []
        self.filler: asyncio.Task[None] | None = None
        self.presence: dict[str, tuple[frozenset[int], int, float]] = {}
        self.presence_frame: str | None = None
        # The host's shared reveal (server/live/presentation.py): the newest frame heard of.
        self.presentation: Presentation | None = None

    def local_presence(self) -> tuple[frozenset[int], int]:
        players = frozenset(c.user_id for c in self.connections if c.member)
        return players, sum(1 for c in self.connections if not c.member)

    def take(self, events: list[Event]) -> int:
        """Delivers what follows on from the last seq delivered and holds the rest; returns how
        many went out. Until the channel is open, or while a fill runs, everything is held."""
        self.backlog.extend(events)
        if len(self.backlog) > _BACKLOG_MAX:
            self.backlog.clear()
        if not self.opened or self.filler is not None:
            return 0
        return self.drain()

    def drain(self) -> int:
        """Delivers the held events that now follow on; keeps those still past a gap."""
        delivered, waiting = 0, []
        for event in sorted(self.backlog, key=lambda e: e.seq):
            if event.seq <= self.last_seq:
                continue  # a duplicate, or already fetched to fill a gap
            if event.seq == self.last_seq + 1:
                self.fan_out(event)
                delivered += 1
            else:
                waiting.append(event)
        self.backlog = waiting
        return delivered

    @property
    def gap(self) -> bool:
        return bool(self.backlog)

    def fan_out(self, event: Event) -> None:
        """One event to every socket: serialised once per distinct view of it (the public one,
        and its subjects' where they differ), then appended to each socket's queue as is."""
        if event.kind == EventKind.ROOM_STARTED:
            self.room = dataclasses.replace(self.room, status=RoomStatus.PLAYING)
        elif event.kind == EventKind.ROOM_FINISHED:
            self.room = dataclasses.replace(self.room, status=RoomStatus.FINISHED)
        public = frame({"type": "event", **event_json(event, self.room, None)})
        personal = {}
        for subject in _subjects(event):
            text = frame({"type": "event", **event_json(event, self.room, subject)})
            if text != public:
                personal[subject] = text
        for connection in list(self.connections):
            connection.offer_event(event.seq, personal.get(connection.user_id, public))
        if event.kind in _MEMBERSHIP:
            # Who joined or left is a player or a spectator from now on, on their sockets too.
            for connection in self.connections:
                if connection.user_id == event.data.get("user_id"):
                    connection.member = event.kind == EventKind.MEMBER_JOINED
        self.last_seq = event.seq

    def changes_membership(self, events: list[Event]) -> bool:
        """Whether these events may change who is a player here (and so the presence)."""
        return any(event.kind in _MEMBERSHIP for event in events)

    def tell(self, text: str) -> None:
        for connection in list(self.connections):
            connection.offer(text)

    def show(self, presentation: Presentation) -> None:
        """The host's frame to every socket; one older than the newest already shown is dropped."""
        if self.presentation is not None and presentation.updated_at <= self.presentation.updated_at:
            return
        self.presentation = presentation
        self.tell(present_frame(presentation))

    def show_to(self, connection: Connection) -> None:
        """A newcomer lands on the frame being presented; once ended, a page that reconnects
        learns so (frame null), having missed the end while it was away."""
        if self.presentation is not None:
            connection.offer(present_frame(self.presentation))


def _subjects(event: Event) -> set[int]:
    """The users who may see more of this event than everyone else does."""
    subjects = {event.data.get("player_id")}
    turn = event.data.get("turn")
    if isinstance(turn, dict):
        subjects.add(turn.get("player_id"))
    return {subject for subject in subjects if isinstance(subject, int)}
