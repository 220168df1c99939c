"""The Postgres pool and the schema migration."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from storage.errors import Unavailable

__all__ = ["SCHEMA_PATH", "schema_version", "Connection", "Database", "migrate", "now", "returned"]

# What every storage function takes: a connection of its own or one lent by the pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"

# Serialises migrations of instances starting at once; any fixed 64-bit number unique to us.
_MIGRATION_LOCK = 0x45_58_51_55_49_53


def schema_version(sql: str | None = None) -> int:
    """The version recorded in schema.sql's `-- schema_version: N` line."""
    sql = SCHEMA_PATH.read_text() if sql is None else sql
    match = re.search(r"^-- schema_version: (\d+)$", sql, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{SCHEMA_PATH} has no '-- schema_version: N' line")
    return int(match.group(1))


class Database:
    """The connection pool. Callers acquire a connection and own their transactions."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connection_class: type[asyncpg.Connection] = asyncpg.Connection,
    ) -> None:
        self.dsn = dsn
        self._min, self._max = min_size, max_size
        self._connection_class = connection_class
        self._pool: asyncpg.Pool | None = None
        # Told how long each acquire() waited for a connection, in seconds (metrics).
        self.on_wait: Callable[[float], None] | None = None

    async def __aenter__(self) -> Database:
        logging.getLogger("asyncpg.pool").addFilter(_POOL_LOG_FILTER)  # once: filters are a set
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self._min,
            max_size=self._max,
            connection_class=self._connection_class,
            reset=_reset,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not open")
        return self._pool

    def acquire(self, *, timeout: float | None = None) -> _Acquire:
        """`async with db.acquire() as conn:` a pooled connection."""
        return _Acquire(self.pool.acquire(timeout=timeout), self.on_wait)

    def size(self) -> int:
        return self.pool.get_size() if self._pool else 0

    def idle(self) -> int:
        return self.pool.get_idle_size() if self._pool else 0

    async def ping(self) -> None:
        """Raises unless the database answers a query within two seconds."""
        async with self.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)


# How long a client is asked to wait when the database cannot be reached (Retry-After).
UNAVAILABLE_RETRY_AFTER = 5

# Errors that say the database is out of reach, not that a statement was wrong (matched by class).
_LOST = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-statement
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


class _OutageWithoutTrace(logging.Filter):
    """asyncpg's pool logs a traceback whenever it fails to reconnect its floor of connections.
    While Postgres is out of reach that is news, not a bug: the line stays, the trace goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (OSError, *_LOST)):
            record.msg, record.args = f"{record.getMessage()}: {exc!r}", None
            record.exc_info, record.exc_text = None, None
        return True


_POOL_LOG_FILTER = _OutageWithoutTrace()


def _unavailable() -> Unavailable:
    return Unavailable(
        "The database cannot be reached right now; try again shortly.",
        code="unavailable",
        retry_after=UNAVAILABLE_RETRY_AFTER,
    )


class _Acquire:
    """The pool's acquire context, timing the wait for a connection. It is also the one place
    where the database being out of reach, while connecting or during the borrower's
    statements, becomes `Unavailable` (503 over HTTP, an `unavailable` frame on a socket)."""

    __slots__ = ("_conn", "_inner", "_on_wait")

    def __init__(self, inner: PoolAcquireContext[asyncpg.Record], on_wait: Callable[[float], None] | None) -> None:
        self._inner = inner
        self._on_wait = on_wait
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None

    async def __aenter__(self) -> PoolConnectionProxy[asyncpg.Record]:
        started = time.perf_counter()
        try:
            conn = await self._inner.__aenter__()
        except (OSError, *_LOST) as exc:  # OSError: refused, reset, unreachable, timed out
            raise _unavailable() from exc
        if self._on_wait is not None:
            self._on_wait(time.perf_counter() - started)
        self._conn = conn
        return conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # "connection is closed": a statement on a connection the server had already dropped.
        dropped = isinstance(exc, asyncpg.InterfaceError) and self._conn is not None and self._conn.is_closed()
        await self._inner.__aexit__(exc_type, exc, tb)
        if exc is not None and (dropped or isinstance(exc, _LOST)):
            raise _unavailable() from exc


async def _reset(conn: asyncpg.Connection) -> None:
    """Replaces asyncpg's RESET on release, one round trip per release. Before this runs the pool
    has already rolled back any transaction a borrower left open and dropped its listeners;
    pooled connections never LISTEN (the credit feed has its own connection), take session
    advisory locks, keep cursors outside a transaction or SET a session setting, so the RESET's
    UNLISTEN, advisory unlock, CLOSE ALL and RESET ALL have nothing to undo."""


async def migrate(conn: Connection) -> int:
    """Applies schema.sql idempotently and records its version; returns that version.

    Refuses to touch a database that a newer release has already migrated.
    """
    sql = SCHEMA_PATH.read_text()
    version = schema_version(sql)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        recorded = await _recorded_version(conn)
        if recorded is not None and recorded > version:
            raise RuntimeError(f"database schema is version {recorded}, newer than this release's {version}")
        await conn.execute(sql)
        # Returns nothing; records the version once.
        await conn.execute("INSERT INTO schema_version (version) VALUES ($1) ON CONFLICT DO NOTHING", version)
    return version


async def _recorded_version(conn: Connection) -> int | None:
    # Returns the highest applied version, or None on an empty database.
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return None
    return await conn.fetchval("SELECT max(version) FROM schema_version")


async def now(conn: Connection) -> datetime:
    """The database's clock: the start of the caller's transaction, the same on every instance."""
    # Returns the transaction's timestamp.
    moment: datetime = await conn.fetchval("SELECT now()")
    return moment


def returned(row: asyncpg.Record | None) -> asyncpg.Record:
    """The row of a statement that always returns one (INSERT ... RETURNING, an aggregate)."""
    if row is None:
        raise RuntimeError("a statement that returns a row returned none")
    return row
