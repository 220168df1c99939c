"""What a step is made from: the player's request, and the studio that paints it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from uuid import UUID

import engine
from server.metrics import Metrics
from server.play.tiles import TileCache
from server.settings import Settings
from storage import BlobStore, Database

__all__ = ["Studio", "StepRequest"]


@dataclass(frozen=True)
class Studio:
    """What painting a step uses, and nothing else."""

    settings: Settings
    db: Database
    blobs: BlobStore
    tiles: TileCache
    generator: engine.Generator
    metrics: Metrics


@dataclass(frozen=True)
class StepRequest:
    turn_nonce: str
    prompt: str
    direction: engine.Direction

    def fingerprint(self, room_id: UUID) -> bytes:
        """What a replay must repeat exactly to count as the same request."""
        canonical = json.dumps(
            [str(room_id), self.turn_nonce, self.prompt, self.direction.value], separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).digest()
