"""My account: who am I (with today's allowance, if due), my credit history, and my sessions."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typing_extensions import TypedDict

from server.http.answers import AccountJson, LedgerEntryJson, LedgerPage, SessionReply
from server.http.documented import Answer, documented
from server.http.sessions import current_user, optional_user, session_hash
from server.http.validation import services_of, whole_number
from server.play.allowance import with_allowance
from server.play.views import iso
from server.settings import Settings
from storage import InvalidField, accounts, credits
from storage.accounts import User

__all__ = ["routes", "account_json"]

LEDGER_PAGE = 50
CURSOR = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "The `next_cursor` of the previous page.",
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
}


def account_json(user: User, settings: Settings) -> AccountJson:
    return {**user.public(), "daily_credits": settings.daily_credits}


@documented("me", "Who am I.", tag="auth", auth="signed_in", answers={200: Answer("The signed-in user.", AccountJson)})
async def me(request: Request) -> Response:
    services = services_of(request)
    user = await with_allowance(services.db, services.settings, await current_user(services, request))
    return JSONResponse(account_json(user, services.settings))


@documented(
    "session",
    "Who is signed in, if anyone: `user` is null rather than a 401.",
    tag="auth",
    auth="optional",
    answers={200: Answer("The session's user, or null.", SessionReply)},
)
async def session(request: Request) -> Response:
    """Who is signed in, without a 401 when nobody is: what a page asks when it loads."""
    services = services_of(request)
    user = await optional_user(services, request)
    billing = services.settings.billing
    if user is None:
        return JSONResponse(SessionReply(user=None, billing=billing))
    user = await with_allowance(services.db, services.settings, user)
    return JSONResponse(SessionReply(user=account_json(user, services.settings), billing=billing))


@documented(
    "myLedger",
    "My credit entries, newest first, a page at a time.",
    tag="auth",
    auth="signed_in",
    query=(CURSOR,),
    answers={200: Answer("A page of entries.", LedgerPage)},
    errors=(422,),
)
async def ledger(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    raw = request.query_params.get("cursor")
    before = None if raw is None else _cursor(raw)
    async with services.db.acquire() as conn:
        entries = await credits.ledger_page(conn, user.id, before, LEDGER_PAGE + 1)
    page = entries[:LEDGER_PAGE]
    listed: list[LedgerEntryJson] = [
        {
            "kind": entry.kind,
            "amount": entry.amount,
            "room_id": None if entry.room_id is None else str(entry.room_id),
            "step_id": None if entry.step_id is None else str(entry.step_id),
            "at": iso(entry.at),
        }
        for entry in page
    ]
    following = str(page[-1].id) if len(entries) > LEDGER_PAGE else None
    return JSONResponse(LedgerPage(entries=listed, next_cursor=following))


def _cursor(raw: str) -> int:
    try:
        return whole_number(raw, "cursor")
    except InvalidField:
        raise InvalidField("cursor", "must be a next_cursor this route gave") from None


class SessionJson(TypedDict):
    """One of my live sessions; `id` is a handle for it, never its token."""

    id: str
    created_at: str
    last_seen_at: str
    expires_at: str
    current: bool


class SessionList(TypedDict):
    sessions: list[SessionJson]


@documented(
    "mySessions",
    "My live sessions, most recently used first (the one asking is `current`).",
    tag="auth",
    auth="signed_in",
    answers={200: Answer("My sessions.", SessionList)},
)
async def my_sessions(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    idle = timedelta(days=services.settings.session_idle_days)
    async with services.db.acquire() as conn:
        listed = await accounts.live_sessions(conn, user.id, session_hash(services, request), idle=idle)
    sessions: list[SessionJson] = [
        {
            "id": item.handle,
            "created_at": iso(item.created_at),
            "last_seen_at": iso(item.last_seen_at),
            "expires_at": iso(item.expires_at),
            "current": item.current,
        }
        for item in listed
    ]
    return JSONResponse(SessionList(sessions=sessions))


@documented(
    "revokeOtherSessions",
    "Sign out everywhere else: every other session of mine is revoked, and its sockets close (4001).",
    tag="auth",
    auth="signed_in",
    answers={204: Answer("Revoked.", media_type=None)},
)
async def revoke_other_sessions(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    async with services.db.acquire() as conn:
        await accounts.revoke_other_sessions(conn, user.id, session_hash(services, request))
    return Response(status_code=204)


routes = [
    Route("/api/me", me, methods=["GET"]),
    Route("/api/session", session, methods=["GET"]),
    Route("/api/me/ledger", ledger, methods=["GET"]),
    Route("/api/me/sessions", my_sessions, methods=["GET"]),
    Route("/api/me/sessions/revoke-others", revoke_other_sessions, methods=["POST"]),
]
