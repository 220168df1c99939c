"""The websocket hub: every room's live frames to every socket on this instance.

Events travel once through the bus (committed in Postgres first, published after commit) and
arrive here per room; a room's channel delivers them gap-free and in seq order, fetching any
missing range from Postgres first, so the bus may lose a message but a socket never does. Each
event is serialised once per distinct view (the public one, and its subject's when it differs),
not once per socket. Presence is counted per instance and shared over the bus.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from types import TracebackType
from uuid import UUID

from server.live.connection import SIGNED_OUT, Connection
from server.play.publisher import decode_event, frame
from server.play.views import event_json
from storage import Bus, Database, rooms
from storage import events as event_log
from storage.events import Event, EventKind
from storage.rooms import Room, RoomMode, RoomStatus

__all__ = ["Hub"]

log = logging.getLogger(__name__)

_MEMBERSHIP = (EventKind.MEMBER_JOINED, EventKind.MEMBER_LEFT)
# An instance's presence report counts until this many resync periods pass without a refresh.
_PRESENCE_PERIODS = 3


class RoomChannel:
    """One room's sockets on this instance and the seq delivered to them so far."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.last_seq = room.seq
        self.connections: set[Connection] = set()
        self.lock = asyncio.Lock()
        self.presence: dict[str, tuple[frozenset[int], int, float]] = {}
        self.presence_frame: str | None = None

    def local_presence(self) -> tuple[frozenset[int], int]:
        players = frozenset(c.user_id for c in self.connections if c.member)
        return players, sum(1 for c in self.connections if not c.member)


class Hub:
    def __init__(self, db: Database, bus: Bus, *, resync_seconds: float) -> None:
        self.db = db
        self.bus = bus
        self.instance = uuid.uuid4().hex
        self.resync_seconds = resync_seconds
        self.channels: dict[UUID, RoomChannel] = {}
        self._resync_task: asyncio.Task | None = None
        self.delivered_events = 0

    async def __aenter__(self) -> Hub:
        self.bus.on_message = self._on_message
        self.bus.on_reconnect = self.resync
        self._resync_task = asyncio.create_task(self._resync_loop(), name="hub-resync")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._resync_task is not None:
            self._resync_task.cancel()
            await asyncio.gather(self._resync_task, return_exceptions=True)
        # 1012 (service restart): the client reconnects, to this address or another instance.
        closing = [c.close(1012) for ch in self.channels.values() for c in list(ch.connections)]
        await asyncio.gather(*closing, return_exceptions=True)

    @property
    def connection_count(self) -> int:
        return sum(len(channel.connections) for channel in self.channels.values())

    @property
    def spectator_count(self) -> int:
        return sum(1 for channel in self.channels.values() for c in channel.connections if not c.member)

    # --- sockets --------------------------------------------------------------------------------

    async def attach(self, connection: Connection, room: Room) -> None:
        """Registers a socket before its first frames are read from Postgres, so that nothing
        committed in between can slip past it."""
        channel = self.channels.get(room.id)
        if channel is None:
            channel = RoomChannel(room)
            self.channels[room.id] = channel
            async with channel.lock:
                await self.bus.subscribe(str(room.id))
                # Read after subscribing: whatever commits later reaches us through the bus.
                async with self.db.acquire() as conn:
                    channel.last_seq = (await rooms.event_heads(conn, [room.id]))[room.id]
        channel.connections.add(connection)

    async def joined(self, connection: Connection) -> None:
        """After its first frames: presence for the newcomer and, if it changed, for everyone."""
        channel = self.channels[connection.room_id]
        if connection.member:
            await self._note_members_seen([connection.room_id])
        if not await self._presence_changed(channel) and channel.presence_frame is not None:
            connection.offer(channel.presence_frame)

    async def detach(self, connection: Connection) -> None:
        channel = self.channels.get(connection.room_id)
        if channel is None or connection not in channel.connections:
            return
        channel.connections.discard(connection)
        await self._presence_changed(channel)
        if not channel.connections and self.channels.get(connection.room_id) is channel:
            del self.channels[connection.room_id]
            await self.bus.unsubscribe(str(connection.room_id))
            if connection.room_id in self.channels:
                # A socket for the room arrived while we unsubscribed: its channel needs the topic.
                await self.bus.subscribe(str(connection.room_id))

    def credits_changed(self, user_id: int, credits: int) -> None:
        """A user's balance changed (storage.AccountFeed): their sockets here are told at once."""
        text = frame({"type": "account", "credits": credits})
        for channel in self.channels.values():
            for connection in list(channel.connections):
                if connection.user_id == user_id:
                    connection.offer(text)

    def sessions_revoked(self, user_id: int, session: bytes | None) -> None:
        """A session was revoked (None: every session, the user was disabled): its sockets here
        close with 4001, and the client stops rather than reconnect."""
        for channel in self.channels.values():
            for connection in list(channel.connections):
                if connection.user_id == user_id and (session is None or connection.session == session):
                    log.info("closing the socket of user %s in room %s: signed out", user_id, channel.room.id)
                    connection.close_soon(SIGNED_OUT)

    # --- consumers: what the bus brings ---------------------------------------------------------

    async def _on_message(self, topic: str, message: bytes) -> None:
        try:
            channel = self.channels.get(UUID(topic))
            if channel is None:
                return
            body = json.loads(message)
            kind = body.get("type")
            if kind == "events":
                await self._deliver(channel, [decode_event(channel.room.id, e) for e in body["events"]])
            elif kind == "progress":
                self._progress(channel, body)
            elif kind == "presence":
                self._remote_presence(channel, body)
        except Exception:
            log.exception("bad bus message on %s", topic)

    async def _deliver(self, channel: RoomChannel, events: list[Event]) -> None:
        async with channel.lock:
            before = channel.local_presence()
            for event in sorted(events, key=lambda e: e.seq):
                if event.seq <= channel.last_seq:
                    continue  # a duplicate, or already fetched to fill a gap
                if event.seq > channel.last_seq + 1:
                    await self._fill_gap(channel)
                    if event.seq <= channel.last_seq:
                        continue
                self._fan_out(channel, event)
        if channel.local_presence() != before:
            await self._presence_changed(channel)

    async def _fill_gap(self, channel: RoomChannel) -> None:
        """Delivers everything after last_seq that Postgres has: the bus lost or delayed some."""
        async with self.db.acquire() as conn:
            missing = await event_log.events_after(conn, channel.room.id, channel.last_seq)
        for event in missing:
            self._fan_out(channel, event)

    def _fan_out(self, channel: RoomChannel, event: Event) -> None:
        if event.kind == EventKind.ROOM_STARTED:
            channel.room = dataclasses.replace(channel.room, status=RoomStatus.PLAYING)
        elif event.kind == EventKind.ROOM_FINISHED:
            channel.room = dataclasses.replace(channel.room, status=RoomStatus.FINISHED)
        public = frame({"type": "event", **event_json(event, channel.room, None)})
        personal = {}
        for subject in _subjects(event):
            text = frame({"type": "event", **event_json(event, channel.room, subject)})
            if text != public:
                personal[subject] = text
        for connection in list(channel.connections):
            connection.offer_event(event.seq, personal.get(connection.user_id, public))
            if event.kind in _MEMBERSHIP and connection.user_id == event.data.get("user_id"):
                # Who joined or left is a player or a spectator from now on, on this socket too.
                connection.member = event.kind == EventKind.MEMBER_JOINED
        channel.last_seq = event.seq
        self.delivered_events += 1

    def _progress(self, channel: RoomChannel, body: dict) -> None:
        text = frame(body["frame"])
        private = channel.room.mode is RoomMode.FOLDED
        for connection in list(channel.connections):
            if not private or connection.user_id == body["painter_id"]:
                connection.offer(text)

    # --- presence -------------------------------------------------------------------------------

    async def _presence_changed(self, channel: RoomChannel) -> bool:
        """Records this instance's presence in the room; True if every socket was told anew."""
        players, spectators = channel.local_presence()
        channel.presence[self.instance] = (players, spectators, time.monotonic())
        told = self._broadcast_presence(channel)
        await self._publish_presence(channel, players, spectators)
        return told

    async def _publish_presence(self, channel: RoomChannel, players: frozenset[int], spectators: int) -> None:
        body = {"type": "presence", "instance": self.instance, "players": sorted(players), "spectators": spectators}
        await self.bus.publish(str(channel.room.id), frame(body).encode())

    def _remote_presence(self, channel: RoomChannel, body: dict) -> None:
        if body["instance"] == self.instance:
            return
        channel.presence[body["instance"]] = (frozenset(body["players"]), body["spectators"], time.monotonic())
        self._broadcast_presence(channel)

    def _broadcast_presence(self, channel: RoomChannel) -> bool:
        horizon = time.monotonic() - _PRESENCE_PERIODS * self.resync_seconds
        live = {k: v for k, v in channel.presence.items() if v[2] >= horizon or k == self.instance}
        channel.presence = live
        players = sorted(set().union(*(p for p, _, _ in live.values())))
        spectators = sum(s for _, s, _ in live.values())
        text = frame({"type": "presence", "players_online": players, "spectators": spectators})
        if text == channel.presence_frame:
            return False
        channel.presence_frame = text
        for connection in list(channel.connections):
            connection.offer(text)
        return True

    # --- recovery -------------------------------------------------------------------------------

    async def resync(self) -> None:
        """Delivers whatever Postgres has beyond what each room's sockets have seen, and
        refreshes this instance's presence reports; after a bus outage and periodically."""
        if not self.channels:
            return
        attended = [room_id for room_id, channel in self.channels.items() if channel.local_presence()[0]]
        await self._note_members_seen(attended)
        async with self.db.acquire() as conn:
            heads = await rooms.event_heads(conn, list(self.channels))
        for room_id, head in heads.items():
            channel = self.channels.get(room_id)
            if channel is None:
                continue
            if head > channel.last_seq:
                async with channel.lock:
                    await self._fill_gap(channel)
            players, spectators = channel.local_presence()
            self._broadcast_presence(channel)
            await self._publish_presence(channel, players, spectators)

    async def _note_members_seen(self, room_ids: list[UUID]) -> None:
        """Tells Postgres a member is here: a timed room nobody attends is abandoned (play/clocks.py)."""
        if room_ids:
            async with self.db.acquire() as conn:
                await rooms.note_members_seen(conn, room_ids)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_seconds)
            try:
                await self.resync()
            except Exception:
                log.exception("hub resync failed")


def _subjects(event: Event) -> set[int]:
    """The users who may see more of this event than everyone else does."""
    subjects = {event.data.get("player_id")}
    turn = event.data.get("turn")
    if isinstance(turn, dict):
        subjects.add(turn.get("player_id"))
    return {subject for subject in subjects if isinstance(subject, int)}
