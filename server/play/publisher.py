"""What happened, sent to every instance: committed events and ephemeral progress, over the bus.

Events are published only after their transaction commits, so a message never announces what
Postgres does not hold; the bus may still lose one, which each hub repairs from Postgres
(server/live/hub.py). The wire format lives here, beside its encoder, for the hub to decode.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np

import engine
from storage import Bus
from storage.events import Event
from storage.steps import Step

__all__ = ["Publisher", "encode_events", "decode_event", "frame"]


def frame(body: dict[str, Any]) -> str:
    """A JSON text without spaces: what every socket frame and bus message is."""
    return json.dumps(body, separators=(",", ":"))


class Publisher:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def publish_events(self, room_id: UUID, events: list[Event]) -> None:
        if events:
            await self.bus.publish(str(room_id), encode_events(events))

    async def publish_progress(self, step: Step, fraction: float, preview: np.ndarray | None) -> None:
        data_url = None
        if preview is not None:
            jpeg = await asyncio.to_thread(engine.encode_jpeg_preview, preview)
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
