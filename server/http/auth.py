"""Accounts: sign up, sign in, sign out, and who am I."""

from __future__ import annotations

import re

from pydantic import field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.sessions import current_user, end_session, optional_user, start_session
from server.http.validation import Body, Text, read_json, services_of
from server.services import Services
from storage import Forbidden, NotSignedIn, accounts, credits

__all__ = ["routes"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254:
        raise ValueError("must be at most 254 characters")
    if not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


class Credentials(Body):
    email: Text
    password: Text

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        return _email(value)

    @field_validator("password")
    @classmethod
    def _check_password(cls, value: str) -> str:
        if len(value) > 1024:
            raise ValueError("must be at most 1024 characters")
        return value


class Signup(Credentials):
    display_name: Text

    @field_validator("password")
    @classmethod
    def _check_new_password(cls, value: str) -> str:
        if len(value) < 10:
            raise ValueError("must be at least 10 characters")
        return value

    @field_validator("display_name")
    @classmethod
    def _check_display_name(cls, value: str) -> str:
        value = value.strip()
        if not 1 <= len(value) <= 40:
            raise ValueError("must be 1 to 40 characters")
        if not value.isprintable():
            raise ValueError("must be printable characters")
        return value


def _count_attempt(services: Services, request: Request, email: str) -> None:
    """Every attempt counts against the client's address; against the email, only those that
    can be guessing (signups, failed logins), which are recorded when they fail."""
    address = request.client.host if request.client else "unknown"
    services.limits.auth_by_address.hit(address)
    services.limits.auth_by_email.check(email)


async def signup(request: Request) -> Response:
    services = services_of(request)
    body = await read_json(request, Signup)
    _count_attempt(services, request, body.email)
    services.limits.auth_by_email.record(body.email)
    password_hash = await services.passwords.hash(body.password)
    async with services.db.acquire() as conn:
        async with conn.transaction():
            user = await accounts.insert_user(
                conn, email=body.email, password_hash=password_hash, display_name=body.display_name
            )
            grant = services.settings.signup_credits
            if grant:
                await credits.post_credits(conn, user.id, grant, credits.LedgerKind.SIGNUP_GRANT)
        created = await accounts.user_by_id(conn, user.id)
    if created is None:
        raise RuntimeError("a user vanished in the transaction that made them")
    response = JSONResponse({"user": created.public()}, 201)
    await start_session(services, response, created.id)
    return response


async def login(request: Request) -> Response:
    services = services_of(request)
    body = await read_json(request, Credentials)
    _count_attempt(services, request, body.email)
    async with services.db.acquire() as conn:
        record = await accounts.login_record(conn, body.email)
    user, password_hash, disabled = record if record else (None, None, False)
    if not await services.passwords.matches(password_hash, body.password) or user is None:
        services.limits.auth_by_email.record(body.email)
        raise NotSignedIn("Wrong email or password.", code="invalid_credentials")
    if disabled:
        raise Forbidden("This account is disabled.", code="account_disabled")
    response = JSONResponse({"user": user.public()})
    await start_session(services, response, user.id)
    return response


async def logout(request: Request) -> Response:
    response = Response(status_code=204)
    await end_session(services_of(request), request, response)
    return response


async def me(request: Request) -> Response:
    user = await current_user(services_of(request), request)
    return JSONResponse(user.public())


async def session(request: Request) -> Response:
    """Who is signed in, without a 401 when nobody is: what a page asks when it loads."""
    user = await optional_user(services_of(request), request)
    return JSONResponse({"user": user.public() if user else None})


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/session", session, methods=["GET"]),
]
