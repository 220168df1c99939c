"""What a running app holds: the settings and every resource its lifespan opened, all at once.

Built complete and frozen in server/lifespan.py after each resource is open; nothing is added
later, so no part of the app can see a half-built one.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import Generator
from server.billing.stripe_gateway import StripeGateway
from server.http.passwords import Passwords
from server.http.ratelimit import LiveCount, RateLimit
from server.live.hub import Hub
from server.load import Load
from server.metrics import Metrics
from server.play.publisher import Publisher
from server.play.runner import StepRunner
from server.play.tiles import TileCache
from server.settings import Settings
from storage import BlobStore, Bus, Database

__all__ = ["Services", "Limits"]


@dataclass(frozen=True)
class Limits:
    """The quotas of server/http/ratelimit.py, shared by every instance when REDIS_URL is set."""

    auth_by_address: RateLimit
    # Failed sign-ins (and sign-ups) per email and address; and per email, a slow hourly ceiling.
    auth_by_email: RateLimit
    auth_ceiling: RateLimit
    step_submissions: RateLimit
    admin_actions: RateLimit
    checkouts: RateLimit
    rooms_created: RateLimit
    present_frames: RateLimit
    sockets_by_user: LiveCount
    sockets_by_address: LiveCount


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    bus: Bus
    metrics: Metrics
    generator: Generator
    tiles: TileCache
    passwords: Passwords
    limits: Limits
    publisher: Publisher
    runner: StepRunner
    hub: Hub
    load: Load
    # None while billing is off (no STRIPE_SECRET_KEY): the billing routes answer 404 then.
    stripe: StripeGateway | None
