"""What a step is made from: the player's request, and the studio that paints it."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from uuid import UUID

import engine
from server.metrics import Metrics
from server.play.moderation import Moderation
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
    moderation: Moderation

    def safety_identifier(self, user_id: int) -> str:
        """The player as the images API sees them: an HMAC of their id under the session secret,
        stable per player, never their email, and unlinkable to them without the secret."""
        message = b"openai-safety-identifier:" + str(user_id).encode()
        return hmac.new(self.settings.secret.encode(), message, hashlib.sha256).hexdigest()


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
