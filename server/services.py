"""What a running app holds: settings and the resources opened in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from server.metrics import Metrics
from server.ratelimit import RateLimiter
from server.settings import Settings
from storage import Database, LocalBlobStore

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: LocalBlobStore
    metrics: Metrics
    auth_by_address: RateLimiter
    auth_by_email: RateLimiter
