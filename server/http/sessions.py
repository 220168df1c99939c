"""Session cookies: random 256-bit tokens, stored server-side only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from starlette.requests import HTTPConnection
from starlette.responses import Response

from server import logs
from server.services import Services
from storage import NotSignedIn, accounts
from storage.accounts import User

__all__ = [
    "SESSION_COOKIE",
    "new_token",
    "token_hash",
    "start_session",
    "end_session",
    "current_user",
    "optional_user",
    "session_hash",
]

SESSION_COOKIE = "exq_session"
# A session's use is recorded at most this often (one write per session per period).
TOUCH_EVERY = timedelta(minutes=5)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(secret: str, token: str) -> bytes:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()


async def start_session(services: Services, response: Response, user_id: int) -> None:
    """Records a new session for the user and sets its cookie on the response."""
    token = new_token()
    lifetime = timedelta(days=services.settings.session_days)
    async with services.db.acquire() as conn:
        await accounts.insert_session(
            conn,
            token_hash=token_hash(services.settings.secret, token),
            user_id=user_id,
            expires_at=datetime.now(UTC) + lifetime,
        )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=services.settings.production,
        path="/",
    )


async def end_session(services: Services, conn: HTTPConnection, response: Response) -> None:
    token = conn.cookies.get(SESSION_COOKIE)
    if token:
        async with services.db.acquire() as db:
            await accounts.revoke_session(db, token_hash(services.settings.secret, token))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


async def optional_user(services: Services, conn: HTTPConnection) -> User | None:
    token = conn.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    async with services.db.acquire() as db:
        user = await accounts.session_user(
            db,
            token_hash(services.settings.secret, token),
            idle=timedelta(days=services.settings.session_idle_days),
            touch_after=TOUCH_EVERY,
        )
    if user is not None:
        logs.user_id.set(user.id)
    return user


async def current_user(services: Services, conn: HTTPConnection) -> User:
    user = await optional_user(services, conn)
    if user is None:
        raise NotSignedIn("Sign in first.")
    return user


def session_hash(services: Services, conn: HTTPConnection) -> bytes:
    """The keyed hash of the session cookie this request carries (of "" when none)."""
    return token_hash(services.settings.secret, conn.cookies.get(SESSION_COOKIE, ""))
