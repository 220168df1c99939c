"""Users and their sessions. Every function takes the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from typing_extensions import TypedDict

from storage.database import Connection, returned
from storage.errors import Conflict

__all__ = [
    "User",
    "UserJson",
    "insert_user",
    "user_by_id",
    "user_by_email",
    "login_record",
    "insert_session",
    "session_user",
    "revoke_session",
    "SessionInfo",
    "live_sessions",
    "revoke_other_sessions",
    "lobby_rooms_hosted",
    "set_password",
    "make_admin",
]


class UserJson(TypedDict):
    """A user as the API shows them (to themselves and to operators)."""

    id: int
    email: str
    display_name: str
    credits: int
    is_admin: bool


@dataclass(frozen=True)
class User:
    id: int
    email: str
    display_name: str
    credits: int
    is_admin: bool

    def public(self) -> UserJson:
        return {
            "id": self.id,
            "email": self.email,
            "display_name": self.display_name,
            "credits": self.credits,
            "is_admin": self.is_admin,
        }


_USER_COLUMNS = "id, email, display_name, credits, is_admin"


def _user(row: asyncpg.Record) -> User:
    return User(**dict(row))


async def insert_user(conn: Connection, *, email: str, password_hash: str, display_name: str) -> User:
    """Creates a user with no credits; a taken email is a Conflict."""
    try:
        # Returns the new user.
        row = await conn.fetchrow(
            f"""INSERT INTO users (email, password_hash, display_name) VALUES ($1, $2, $3)
                RETURNING {_USER_COLUMNS}""",
            email,
            password_hash,
            display_name,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("An account with this email already exists.", code="email_taken") from exc
    return _user(returned(row))


async def user_by_id(conn: Connection, user_id: int) -> User | None:
    # Returns the user, disabled or not.
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
    return None if row is None else _user(row)


async def user_by_email(conn: Connection, email: str) -> User | None:
    # Returns the user with this (lowercase) email, disabled or not.
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE email = $1", email.strip().lower())
    return None if row is None else _user(row)


async def login_record(conn: Connection, email: str) -> tuple[User, str, bool] | None:
    """The user with this email, their password hash and whether they are disabled."""
    # Returns one user row with its secret columns.
    row = await conn.fetchrow(
        f"""SELECT {_USER_COLUMNS}, password_hash, disabled_at IS NOT NULL AS disabled
            FROM users WHERE email = $1""",
        email,
    )
    if row is None:
        return None
    fields = dict(row)
    password_hash, disabled = fields.pop("password_hash"), fields.pop("disabled")
    return User(**fields), password_hash, disabled


async def insert_session(conn: Connection, *, token_hash: bytes, user_id: int, expires_at: datetime) -> None:
    # Returns nothing.
    await conn.execute(
        "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        user_id,
        expires_at,
    )


async def session_user(conn: Connection, token_hash: bytes, *, idle: timedelta, touch_after: timedelta) -> User | None:
    """The user of a live session: not revoked, not expired, used within `idle`, user not
    disabled. Records the use when the last one recorded is older than `touch_after`, in the
    same round trip, so a session costs at most one write per `touch_after`."""
    # Returns the session's user, or no row; the CTE's UPDATE moves last_seen_at when stale.
    row = await conn.fetchrow(
        f"""WITH live AS (
                SELECT s.token_hash, s.last_seen_at, {", ".join("u." + c for c in _USER_COLUMNS.split(", "))}
                FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
                  AND s.last_seen_at > now() - $2::interval AND u.disabled_at IS NULL
            ), touched AS (
                UPDATE sessions SET last_seen_at = now() FROM live
                WHERE sessions.token_hash = live.token_hash AND live.last_seen_at < now() - $3::interval
            )
            SELECT {_USER_COLUMNS} FROM live""",
        token_hash,
        idle,
        touch_after,
    )
    return None if row is None else _user(row)


@dataclass(frozen=True)
class SessionInfo:
    handle: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


async def live_sessions(conn: Connection, user_id: int, current: bytes, *, idle: timedelta) -> list[SessionInfo]:
    """The user's live sessions, most recently used first, each named by a short prefix of its
    token's keyed hash (which says nothing of the token); `current` is the asking one's hash."""
    # Returns at most 100 sessions.
    rows = await conn.fetch(
        """SELECT encode(substr(token_hash, 1, 8), 'hex') AS handle, created_at, last_seen_at, expires_at,
                  token_hash = $2 AS current
           FROM sessions
           WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND last_seen_at > now() - $3::interval
           ORDER BY last_seen_at DESC, created_at DESC LIMIT 100""",
        user_id,
        current,
        idle,
    )
    return [SessionInfo(**dict(row)) for row in rows]


async def revoke_other_sessions(conn: Connection, user_id: int, keep_session: bytes) -> int:
    """Revokes every live session of the user but `keep_session`; returns how many. Each
    revocation is announced after commit (schema.sql), which closes that session's sockets."""
    # Returns the command status with the number of revoked sessions.
    status = await conn.execute(
        """UPDATE sessions SET revoked_at = now()
           WHERE user_id = $1 AND revoked_at IS NULL AND token_hash <> $2""",
        user_id,
        keep_session,
    )
    return int(status.split()[-1])


async def lobby_rooms_hosted(conn: Connection, user_id: int) -> int:
    """How many rooms the user hosts in the lobby, with the user's row locked until the caller's
    transaction ends, so that one user's concurrent room creations count one after another."""
    # Returns nothing; locks the user's row. Its own statement: under READ COMMITTED, the count
    # below then sees the rooms a previous holder of the lock committed (in one statement with
    # the lock, it would read the snapshot taken before the wait).
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
    # Returns the count.
    count: int = await conn.fetchval(
        "SELECT count(*) FROM rooms WHERE host_id = $1 AND status = 'lobby'",
        user_id,
    )
    return count


async def revoke_session(conn: Connection, token_hash: bytes) -> bool:
    """Revokes one live session; False when it was not live."""
    # Returns the command status.
    status = await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash,
    )
    return status == "UPDATE 1"


async def set_password(conn: Connection, user_id: int, password_hash: str, *, keep_session: bytes) -> int:
    """Changes the user's password hash and revokes every live session but `keep_session` (the
    one that asked); returns how many were revoked."""
    # Returns nothing.
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)
    return await revoke_other_sessions(conn, user_id, keep_session)


async def make_admin(conn: Connection, email: str) -> User | None:
    """Sets is_admin on an existing user; None when no user has this email."""
    # Returns the updated user.
    row = await conn.fetchrow(f"UPDATE users SET is_admin = true WHERE email = $1 RETURNING {_USER_COLUMNS}", email)
    return None if row is None else _user(row)
