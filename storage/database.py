"""The Postgres pool and the schema migration."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

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


class _Acquire:
    """The pool's acquire context, timing the wait for a connection."""

    __slots__ = ("_inner", "_on_wait")

    def __init__(self, inner: PoolAcquireContext[asyncpg.Record], on_wait: Callable[[float], None] | None) -> None:
        self._inner = inner
        self._on_wait = on_wait

    async def __aenter__(self) -> PoolConnectionProxy[asyncpg.Record]:
        started = time.perf_counter()
        conn = await self._inner.__aenter__()
        if self._on_wait is not None:
            self._on_wait(time.perf_counter() - started)
        return conn

    async def __aexit__(self, *exc_info: object) -> None:
        await self._inner.__aexit__(*exc_info)


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
