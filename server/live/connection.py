"""One websocket's outgoing side: a bounded queue of pre-serialised frames and its writer.

A socket that cannot keep up fills its queue and is closed with 4008; the client resumes with
`after` and loses nothing, because events live in Postgres, not in this queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from uuid import UUID

from starlette.websockets import WebSocket, WebSocketDisconnect

__all__ = ["Connection", "TOO_SLOW", "SIGNED_OUT", "TRY_LATER", "receive_object"]

log = logging.getLogger(__name__)

TOO_SLOW = 4008
# The socket's session was revoked (signed out, password changed) or its user disabled.
SIGNED_OUT = 4001
# "Try Again Later" (RFC 6455): a service the socket needs (the database) is out of reach.
TRY_LATER = 1013


class Connection:
    """One socket's frames, each serialised once per audience by the hub and appended here as is;
    one writer task per socket sends what has gathered, back to back (a commit's frames together)."""

    # Slots, not a __dict__: one of these per idle socket.
    __slots__ = (
        "_closer",
        "_frames",
        "_held",
        "_waiting",
        "_writer",
        "closing",
        "member",
        "queue_size",
        "room_id",
        "seq",
        "session",
        "user_id",
        "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        *,
        room_id: UUID,
        user_id: int,
        session: bytes,
        member: bool,
        queue_size: int,
    ) -> None:
        self.websocket = websocket
        self.room_id = room_id
        self.user_id = user_id
        # The keyed hash of the session it was opened with, which a revocation names.
        self.session = session
        self.member = member
        self.queue_size = queue_size
        # Frames the writer has not taken yet, and how many are not sent yet (those plus the
        # writer's batch in hand), which queue_size bounds. A list rather than an asyncio.Queue
        # (its four deques cost about 3 KiB per socket), and a writer task only while there is
        # something to send: an idle socket keeps neither a task nor its frame.
        self._frames: list[str] = []
        self._waiting = 0
        # The last event seq queued; None until the first frames (snapshot or missed events) are.
        self.seq: int | None = None
        self._held: list[tuple[int, str]] = []
        self._writer: asyncio.Task | None = None
        self._closer: asyncio.Task | None = None
        self.closing = False

    def go_live(self, first_frames: list[str], seq: int) -> None:
        """Sends the first frames (bounded by the resume window, not the queue), then the live
        events that arrived while they were read, then whatever comes. It takes the list and
        empties it as it goes: a snapshot is not kept for as long as the socket lives."""
        self._writer = asyncio.create_task(self._write(first_frames), name=f"ws-writer-{self.user_id}")
        self.seq = seq
        held, self._held = self._held, []
        for event_seq, frame in held:
            self.offer_event(event_seq, frame)

    def offer_event(self, seq: int, frame: str) -> None:
        if self.closing:
            return
        if self.seq is None:
            self._held.append((seq, frame))
            if len(self._held) > self.queue_size:
                self._too_slow()
            return
        if seq <= self.seq:
            return  # already in the first frames
        self.seq = seq
        self._put(frame)

    def offer(self, frame: str) -> None:
        """An ephemeral frame (presence, progress, a reply): dropped before the first frames."""
        if not self.closing and self.seq is not None:
            self._put(frame)

    def _put(self, frame: str) -> None:
        if self._waiting >= self.queue_size:
            self._too_slow()
            return
        self._frames.append(frame)
        self._waiting += 1
        self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None and self._frames:
            self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{self.user_id}")

    def _too_slow(self) -> None:
        log.info("socket of user %s in room %s is too slow: closing with %s", self.user_id, self.room_id, TOO_SLOW)
        self.close_soon(TOO_SLOW)

    def close_soon(self, code: int) -> None:
        """Closes with `code` from a task of its own: for callers that may not wait."""
        if self.closing:
            return
        self.closing = True
        self._closer = asyncio.create_task(self._shut(code))

    async def _write(self, first_frames: list[str] | None = None) -> None:
        """Sends the first frames if given, then whatever gathered, back to back (a commit's
        step.committed and turn.changed, or room.finished, are offered together), until nothing
        is left; then the task ends."""
        if first_frames:
            await _send_all(self.websocket, first_frames)
            first_frames.clear()
        while self._frames:
            batch, self._frames = self._frames, []
            for frame in batch:
                await self.websocket.send_text(frame)
                self._waiting -= 1
        self._writer = None  # no await since the check: a frame put now starts the next writer

    async def close(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        await self._shut(code)

    async def refuse(self, frame: str, code: int) -> None:
        """Sends `frame` ahead of anything still queued, then closes with `code`."""
        if self.closing:
            return
        self.closing = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            self._writer = None
        with contextlib.suppress(Exception):
            await self.websocket.send_text(frame)
        await self._shut(code)

    async def _shut(self, code: int) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        with contextlib.suppress(Exception):
            await self.websocket.close(code)


async def _send_all(websocket: WebSocket, frames: list[str]) -> None:
    """In a frame of its own, so that no local outlives the sending (the last one would keep a
    snapshot alive while the socket idles)."""
    for frame in frames:
        await websocket.send_text(frame)


async def receive_object(websocket: WebSocket) -> dict[str, Any] | None:
    """The next frame from the client as a JSON object; None for anything else (a binary frame,
    text that is not a JSON object), which the caller answers with an error frame rather than let
    Starlette's receive_text() fail on it. Raises WebSocketDisconnect when the client is gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        return None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None
