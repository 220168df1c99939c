"""What happened, sent to every instance: committed events and ephemeral progress, over the bus.

Events are published only after their transaction commits, so a message never announces what
Postgres does not hold; the bus may still lose one, which each hub repairs from Postgres
(server/live/hub.py). The wire format lives here, beside its encoder, for the hub to decode.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np

import engine
from storage import Bus
from storage.events import Event
from storage.steps import Step

log = logging.getLogger(__name__)

__all__ = ["Publisher", "encode_events", "decode_event", "frame"]


def frame(body: dict[str, Any]) -> str:
    """A JSON text without spaces: what every socket frame and bus message is."""
    return json.dumps(body, separators=(",", ":"))


class Publisher:
    """Progress is coalesced per step: while one frame is being encoded and published, a newer
    one replaces any that waits, so a painter never queues more than the latest, and the painter
    never waits for the bus. `settle()` flushes a step's last frame before its outcome goes out.
    A room that nobody watches on any instance (Bus.listened) gets no progress at all."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._latest: dict[UUID, tuple[Step, float, np.ndarray | None]] = {}
        self._senders: dict[UUID, asyncio.Task[None]] = {}

    async def publish_events(self, room_id: UUID, events: list[Event]) -> None:
        if events:
            await self.bus.publish(str(room_id), encode_events(events))

    async def publish_progress(self, step: Step, fraction: float, preview: np.ndarray | None) -> None:
        if not self.bus.listened(str(step.room_id)):
            return  # nobody watches the room on any instance: no preview to encode or send
        self._latest[step.id] = (step, fraction, preview)
        if step.id not in self._senders:
            self._senders[step.id] = asyncio.create_task(self._send_latest(step.id), name=f"progress-{step.id}")

    async def settle(self, step_id: UUID) -> None:
        """Until the step's waiting progress frame, if any, has been published."""
        sender = self._senders.get(step_id)
        if sender is not None:
            await asyncio.gather(asyncio.shield(sender), return_exceptions=True)
        self._latest.pop(step_id, None)

    async def _send_latest(self, step_id: UUID) -> None:
        try:
            await asyncio.sleep(0)  # frames reported in one burst collapse into the last
            while (latest := self._latest.pop(step_id, None)) is not None:
                await self._send_progress(*latest)
        except Exception:
            log.exception("publishing progress of step %s failed", step_id)
        finally:
            self._senders.pop(step_id, None)

    async def _send_progress(self, step: Step, fraction: float, preview: np.ndarray | None) -> None:
        data_url = None
        if preview is not None:
            # On the loop: a preview is small (the generators make them at most 128 px a side, and
            # the encoder subsamples anything larger first), a JPEG of it takes ~0.1 ms, and a step's
            # outcome waits for its last progress frame (settle), so it must not queue for a pixel
            # worker behind other steps' painting: at saturation that queue held the feed ~0.7 s.
            jpeg = engine.encode_jpeg_preview(preview)
            data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
        progress = {"type": "progress", "step_id": str(step.id), "fraction": round(fraction, 3), "preview": data_url}
        body = {"type": "progress", "painter_id": step.user_id, "frame": progress}
        await self.bus.publish(str(step.room_id), frame(body).encode())


def encode_events(events: list[Event]) -> bytes:
    """The bus message that carries committed events to every instance's hub."""
    body = {
        "type": "events",
        "events": [{"seq": e.seq, "kind": e.kind, "data": e.data, "at": e.at.isoformat()} for e in events],
    }
    return frame(body).encode()


def decode_event(room_id: UUID, body: dict[str, Any]) -> Event:
    """One event of an `events` message, as encode_events wrote it."""
    return Event(room_id, body["seq"], body["kind"], body["data"], datetime.fromisoformat(body["at"]))
