"""The websocket hub: every room's live frames to every socket on this instance.

Events travel once through the bus (committed in Postgres first, published after commit) and
arrive here per room; a room's channel delivers them gap-free and in seq order, fetching any
missing range from Postgres first, so the bus may lose a message but a socket never does. Each
event is serialised once per distinct view (the public one, and its subject's when it differs),
not once per socket. Presence is counted per instance and shared over the bus; so is the host's
shared reveal (presentation.py), whose frame Postgres keeps for sockets that open later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from types import TracebackType
from uuid import UUID

from server.live.channel import RoomChannel
from server.live.connection import SIGNED_OUT, Connection
from server.live.presentation import decode_presentation
from server.play.publisher import decode_event, frame
from storage import Bus, Database, Unavailable, presentations, rooms
from storage import events as event_log
from storage.events import Event
from storage.rooms import Room, RoomMode, RoomStatus

__all__ = ["Hub"]

log = logging.getLogger(__name__)

# An instance's presence report counts until this many resync periods pass without a refresh.
_PRESENCE_PERIODS = 3


class Hub:
    def __init__(self, db: Database, bus: Bus, *, resync_seconds: float) -> None:
        self.db = db
        self.bus = bus
        self.instance = uuid.uuid4().hex
        self.resync_seconds = resync_seconds
        self.channels: dict[UUID, RoomChannel] = {}
        # Each user's sockets here, across rooms: a balance change or a sign-out finds them
        # without a walk over every socket of the instance.
        self._by_user: dict[int, set[Connection]] = {}
        self._resync_task: asyncio.Task | None = None
        self.delivered_events = 0
        # Whether the last use of the database failed for want of it: sockets were told so.
        self.database_down = False

    async def __aenter__(self) -> Hub:
        self.bus.on_message = self._on_message
        self.bus.on_reconnect = self.resync
        self._resync_task = asyncio.create_task(self._resync_loop(), name="hub-resync")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        tasks = [t for t in (self._resync_task, *(ch.filler for ch in self.channels.values())) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
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
        committed in between can slip past it. The caller detaches it in a `finally` whether
        this returns or raises: a channel that failed to open is opened by its next socket."""
        channel = self.channels.get(room.id)
        if channel is None:
            channel = self.channels[room.id] = RoomChannel(room)
        channel.connections.add(connection)
        self._by_user.setdefault(connection.user_id, set()).add(connection)
        async with channel.lock:
            if channel.opened:
                return
            await self.bus.subscribe(str(room.id))
            # Read after subscribing: whatever commits later reaches us through the bus.
            async with self.db.acquire() as conn:
                channel.last_seq = (await rooms.event_heads(conn, [room.id]))[room.id]
                if room.status is RoomStatus.FINISHED and (shown := await presentations.current(conn, room.id)):
                    channel.show(shown)  # the host's reveal, for sockets opening now
            channel.opened = True
            self.database_down = False
        self._take(channel, [])  # what the bus brought meanwhile

    async def joined(self, connection: Connection) -> None:
        """After its first frames: presence for the newcomer and, if it changed, for everyone."""
        channel = self.channels[connection.room_id]
        channel.show_to(connection)  # right after its first frames
        if connection.member:
            try:
                await self._note_members_seen([connection.room_id])
            except Unavailable as exc:
                self._database_unreachable(exc)  # bookkeeping only: the socket stays
        if not await self._presence_changed(channel) and channel.presence_frame is not None:
            connection.offer(channel.presence_frame)

    async def detach(self, connection: Connection) -> None:
        """Forgets a socket, whatever state attach() left it in; the last one closes the channel."""
        room_id = connection.room_id
        channel = self.channels.get(room_id)
        if channel is None or connection not in channel.connections:
            return
        channel.connections.discard(connection)
        users = self._by_user.get(connection.user_id)
        if users is not None:
            users.discard(connection)
            if not users:
                del self._by_user[connection.user_id]
        last = not channel.connections and self.channels.get(room_id) is channel
        if last:
            del self.channels[room_id]
            if channel.filler is not None:
                channel.filler.cancel()
        try:
            if not last:
                await self._presence_changed(channel)
                return
            await self._publish_presence(channel, frozenset(), 0)
            await self.bus.unsubscribe(str(room_id))
            if room_id in self.channels:
                # A socket for the room arrived while we unsubscribed: its channel needs the topic.
                await self.bus.subscribe(str(room_id))
        except Exception as exc:  # noqa: BLE001 the bus failing must not fail the socket's close
            log.warning("presence or unsubscribe for room %s failed: %r", room_id, exc)

    def credits_changed(self, user_id: int, credits: int) -> None:
        """A user's balance changed (storage.AccountFeed): their sockets here are told at once."""
        text = frame({"type": "account", "credits": credits})
        for connection in list(self._by_user.get(user_id, ())):
            connection.offer(text)

    def sessions_revoked(self, user_id: int, session: bytes | None) -> None:
        """A session was revoked (None: every session, the user was disabled): its sockets here
        close with 4001, and the client stops rather than reconnect."""
        for connection in list(self._by_user.get(user_id, ())):
            if session is None or connection.session == session:
                log.info("closing the socket of user %s in room %s: signed out", user_id, connection.room_id)
                connection.close_soon(SIGNED_OUT)

    # --- consumers: what the bus brings ---------------------------------------------------------

    async def _on_message(self, topic: str, message: bytes) -> None:
        """The bus listener's callback, for every room: it never waits on Postgres."""
        try:
            channel = self.channels.get(UUID(topic))
            if channel is None:
                return
            body = json.loads(message)
            kind = body.get("type")
            if kind == "events":
                events = [decode_event(channel.room.id, e) for e in body["events"]]
                if not channel.changes_membership([*channel.backlog, *events]):
                    self._take(channel, events)  # presence stays: no walk over the sockets for it
                    return
                before = channel.local_presence()
                self._take(channel, events)
                if channel.local_presence() != before:
                    await self._presence_changed(channel)
            elif kind == "progress":
                self._progress(channel, body)
            elif kind == "presence":
                self._remote_presence(channel, body)
            elif kind == "present":
                channel.show(decode_presentation(channel.room.id, body))
        except Exception:
            log.exception("bad bus message on %s", topic)

    def _take(self, channel: RoomChannel, events: list[Event]) -> None:
        self.delivered_events += channel.take(events)
        if channel.gap and channel.opened and channel.filler is None:
            channel.filler = asyncio.create_task(self._fill(channel), name=f"hub-fill-{channel.room.id}")

    async def _fill(self, channel: RoomChannel) -> None:
        """The room's own task: fetches what the bus lost from Postgres, then what it held."""
        before, start = channel.local_presence(), channel.last_seq
        try:
            async with channel.lock:
                await self._fill_gap(channel)
        except Unavailable as exc:
            self._database_unreachable(exc)  # the resync tries again
            return
        except Exception:
            log.exception("filling a gap in room %s failed", channel.room.id)
            return
        finally:
            channel.filler = None
        if channel.last_seq > start:
            self._take(channel, [])  # what was held, and another fill if the bus lost more
        else:
            self.delivered_events += channel.drain()  # no progress: the resync comes back to it
        if channel.local_presence() != before:
            try:
                await self._presence_changed(channel)
            except Exception as exc:  # noqa: BLE001 a bus hiccup; the next resync republishes
                log.warning("publishing presence for room %s failed: %r", channel.room.id, exc)

    async def _fill_gap(self, channel: RoomChannel) -> None:
        """Delivers everything after last_seq that Postgres has: the bus lost or delayed some."""
        async with self.db.acquire() as conn:
            missing = await event_log.events_after(conn, channel.room.id, channel.last_seq)
        for event in missing:
            if event.seq == channel.last_seq + 1:  # not delivered meanwhile
                channel.fan_out(event)
                self.delivered_events += 1

    def _progress(self, channel: RoomChannel, body: dict) -> None:
        text = frame(body["frame"])
        private = channel.room.mode is RoomMode.FOLDED
        for connection in list(channel.connections):
            if not private or connection.user_id == body["painter_id"]:
                connection.offer(text)

    def _database_unreachable(self, exc: Unavailable) -> None:
        """Every socket here is told once per outage; the page says so and keeps its state."""
        if self.database_down:
            return
        self.database_down = True
        log.warning("the database cannot be reached; telling this instance's sockets")
        # As server.http.errors.refusal_frame writes it (importing that module here is a cycle).
        text = frame({"type": "error", "code": exc.code, "message": exc.message})
        for channel in self.channels.values():
            channel.tell(text)

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
            finished = [room_id for room_id, ch in self.channels.items() if ch.room.status is RoomStatus.FINISHED]
            # A present message the bus lost: the host's frame is in Postgres too.
            shown = await presentations.current_many(conn, finished) if finished else []
        self.database_down = False
        for room_id, head in heads.items():
            channel = self.channels.get(room_id)
            if channel is None or not channel.opened:
                continue
            if head > channel.last_seq:
                async with channel.lock:
                    await self._fill_gap(channel)
                self.delivered_events += channel.drain()
            players, spectators = channel.local_presence()
            self._broadcast_presence(channel)
            await self._publish_presence(channel, players, spectators)
        for presentation in shown:
            if (channel := self.channels.get(presentation.room_id)) is not None and channel.opened:
                channel.show(presentation)

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
            except Unavailable as exc:
                self._database_unreachable(exc)
            except Exception:
                log.exception("hub resync failed")
