"""What a running app holds: settings and the resources opened in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine import Generator
from server.metrics import Metrics
from server.ratelimit import RateLimiter
from server.settings import Settings
from storage import BlobStore, Bus, Database

if TYPE_CHECKING:
    from server.coordinator import Coordinator
    from server.hub import Hub
    from server.tile_cache import TileCache

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    metrics: Metrics
    generator: Generator
    auth_by_address: RateLimiter
    auth_by_email: RateLimiter
    step_submissions: RateLimiter
    admin_actions: RateLimiter
    tiles: "TileCache | None" = None
    bus: Bus | None = None
    hub: "Hub | None" = field(default=None)
    coordinator: "Coordinator | None" = field(default=None)
