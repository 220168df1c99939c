"""Everything that persists: Postgres (every SQL statement lives here), blobs, the ledger."""

from storage import accounts, admin, credits, database, events, listings, members, purchases, rooms, service, steps
from storage.account_feed import AccountFeed
from storage.blobs import BlobStore, BlobStoreError, LocalBlobStore, is_blob_key, open_blob_store
from storage.bus import Bus, MemoryBus, RedisBus, open_bus
from storage.database import Connection, Database
from storage.embedded import EmbeddedPostgres
from storage.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
    NotSignedIn,
    PaymentRequired,
    RateLimited,
    TooLarge,
    Unavailable,
)

__all__ = [
    "accounts",
    "admin",
    "credits",
    "database",
    "events",
    "listings",
    "members",
    "purchases",
    "rooms",
    "service",
    "steps",
    "Bus",
    "AccountFeed",
    "MemoryBus",
    "RedisBus",
    "open_bus",
    "Connection",
    "Database",
    "LocalBlobStore",
    "is_blob_key",
    "BlobStore",
    "BlobStoreError",
    "open_blob_store",
    "EmbeddedPostgres",
    "AppError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "InvalidField",
    "NotFound",
    "NotSignedIn",
    "PaymentRequired",
    "RateLimited",
    "TooLarge",
    "Unavailable",
]
