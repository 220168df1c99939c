"""`/api/admin/users/{user}/...`: operators grant or revoke credits and disable users, naming the
user by id or by email; each action is audited in the transaction of its effect."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.admin import Reason, repair, require_admin
from server.http.answers import AuditReply, CreditsReply
from server.http.validation import NotEqual, read_json, services_of, whole_number
from storage import Conflict, Connection, InvalidField, NotFound, accounts, admin, credits
from storage.accounts import User

__all__ = ["routes", "CreditChange"]


class CreditChange(Reason):
    delta: Annotated[int, Field(ge=-100_000, le=100_000), NotEqual(0)]


@repair(
    "adminCredits",
    "Grant (delta > 0) or revoke (delta < 0) credits through the ledger.",
    CreditChange,
    402,
    CreditsReply,
)
async def change_credits(request: Request) -> Response:
    services = services_of(request)
    operator = await require_admin(services, request)
    body = await read_json(request, CreditChange)
    kind = credits.LedgerKind.ADMIN_GRANT if body.delta > 0 else credits.LedgerKind.ADMIN_REVOKE
    async with services.db.acquire() as conn:
        async with conn.transaction():
            target = await _target(conn, request.path_params["user"])
            balance = await credits.post_credits(conn, target.id, body.delta, kind, reason=body.reason)
            entry = await admin.insert_audit(
                conn,
                admin_id=operator.id,
                action=str(kind),
                target_type="user",
                target_id=str(target.id),
                reason=body.reason,
                detail={"delta": body.delta, "balance": balance},
            )
    return JSONResponse(CreditsReply(credits=balance, audit=entry.public()))


@repair("adminDisableUser", "Disable a user and revoke their sessions.", Reason, 409)
async def disable_user(request: Request) -> Response:
    services = services_of(request)
    operator = await require_admin(services, request)
    body = await read_json(request, Reason)
    async with services.db.acquire() as conn:
        async with conn.transaction():
            target = await _target(conn, request.path_params["user"])
            if target.id == operator.id:
                raise Conflict("You cannot disable your own account.", code="cannot_disable_self")
            revoked = await admin.disable_user(conn, target.id)
            entry = await admin.insert_audit(
                conn,
                admin_id=operator.id,
                action="disable_user",
                target_type="user",
                target_id=str(target.id),
                reason=body.reason,
                detail={"sessions_revoked": revoked},
            )
    return JSONResponse(AuditReply(audit=entry.public()))


async def _target(conn: Connection, raw: str) -> User:
    """The user a path names: digits are an id, anything with an @ an email."""
    if "@" in raw:
        user = await accounts.user_by_email(conn, raw) if len(raw) <= 254 else None
    else:
        try:
            user = await accounts.user_by_id(conn, whole_number(raw, "user"))
        except InvalidField:
            user = None
    if user is None:
        raise NotFound("No such user.")
    return user


routes = [
    Route("/api/admin/users/{user}/credits", change_credits, methods=["POST"]),
    Route("/api/admin/users/{user}/disable", disable_user, methods=["POST"]),
]
