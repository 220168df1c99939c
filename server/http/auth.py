"""Accounts: sign up, sign in, sign out, and who am I."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.account import account_json
from server.http.addresses import client_address
from server.http.answers import UserReply
from server.http.documented import Answer, documented
from server.http.origin import from_our_origin
from server.http.sessions import SESSION_COOKIE, current_user, end_session, session_hash, start_session
from server.http.validation import Body, PrintableLine, Text, clean_text, read_json, services_of
from server.play.allowance import with_allowance
from server.services import Services
from server.settings import Settings
from storage import BadRequest, Forbidden, NotSignedIn, accounts, credits

__all__ = ["routes"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


def _normal_email(value: str) -> str:
    return value.strip().lower()


# Trimmed and lowercased before it is measured and matched; the schema says `format: email` and,
# unlike other text fields, no control-character pattern: schemathesis's negative mode mutates an
# email against that pattern into strings the pattern allows (appending "*") and reports them
# accepted, so the pattern there would only make the document look stricter than it can be checked.
Email = Annotated[
    str,
    AfterValidator(clean_text),
    AfterValidator(_normal_email),
    Field(max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}, description="Trimmed and lowercased, then measured."),
]
Password = Annotated[Text, Field(max_length=1024)]


class Credentials(Body):
    email: Email
    password: Password


class Signup(Credentials):
    password: Annotated[Password, Field(min_length=10)]
    display_name: Annotated[PrintableLine, Field(min_length=1, max_length=40)]


class PasswordChange(Body):
    old_password: Password
    new_password: Annotated[Password, Field(min_length=10)]


SESSION_SET = {"Set-Cookie": {"description": f"`{SESSION_COOKIE}`: the new session.", "schema": {"type": "string"}}}


def _from_a_page_of_ours(request: Request, settings: Settings) -> None:
    """Sign-in and sign-up carry no session cookie yet, so OriginGuard lets them by; a
    cross-site form could then sign a victim into the attacker's account (login CSRF). A form
    cannot send `application/json` without a CORS preflight, which we never grant; and a
    browser that says where the request came from must say it came from us."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest("Send the body as Content-Type: application/json.", code="json_required")
    if "origin" in request.headers and not from_our_origin(
        request.headers, settings.public_url, not settings.production
    ):
        raise Forbidden("This request came from another site.", code="bad_origin")


async def _count_attempt(services: Services, request: Request, email: str, *, ceiling: bool = True) -> str:
    """Every attempt counts against the client's address; and, as a failure until it succeeds,
    against the email from that address (so that guessing from elsewhere locks nobody out) and,
    much more slowly, against the email alone. Counted before the password is checked, so that
    attempts still in flight count too. Returns the (email, address) key."""
    address = client_address(request.scope)
    await services.limits.auth_by_address.hit(address)
    pair = f"{email} {address}"
    await services.limits.auth_by_email.hit(pair)
    if ceiling:
        await services.limits.auth_ceiling.hit(email)
    return pair


async def _succeeded(services: Services, email: str, pair: str) -> None:
    """The right password: this attempt was no failure after all."""
    await services.limits.auth_by_email.refund(pair)
    await services.limits.auth_ceiling.refund(email)


@documented(
    "signup",
    "Create an account, grant the signup credits and sign in.",
    tag="auth",
    auth="public",
    body=Signup,
    answers={201: Answer("The new user; the response sets the session cookie.", UserReply, headers=SESSION_SET)},
    errors=(403, 409, 429, 503),
)
async def signup(request: Request) -> Response:
    services = services_of(request)
    _from_a_page_of_ours(request, services.settings)
    body = await read_json(request, Signup)
    await _count_attempt(services, request, body.email, ceiling=False)  # a signup can probe an email: kept
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
    response = JSONResponse(UserReply(user=account_json(created, services.settings)), 201)
    await start_session(services, response, created.id)
    return response


@documented(
    "login",
    "Sign in with email and password (`403 account_disabled` for a disabled user).",
    tag="auth",
    auth="public",
    body=Credentials,
    answers={200: Answer("The user; the response sets a new session cookie.", UserReply, headers=SESSION_SET)},
    errors=(401, 403, 429, 503),
)
async def login(request: Request) -> Response:
    services = services_of(request)
    _from_a_page_of_ours(request, services.settings)
    body = await read_json(request, Credentials)
    pair = await _count_attempt(services, request, body.email)
    async with services.db.acquire() as conn:
        record = await accounts.login_record(conn, body.email)
    user, password_hash, disabled = record if record else (None, None, False)
    if not await services.passwords.matches(password_hash, body.password) or user is None:
        raise NotSignedIn("Wrong email or password.", code="invalid_credentials")
    await _succeeded(services, body.email, pair)
    if disabled:
        raise Forbidden("This account is disabled.", code="account_disabled")
    user = await with_allowance(services.db, services.settings, user)
    response = JSONResponse(UserReply(user=account_json(user, services.settings)))
    await start_session(services, response, user.id)
    return response


@documented(
    "logout",
    "Revoke this session and clear its cookie.",
    tag="auth",
    auth="optional",
    answers={204: Answer("Signed out (also when no session was sent).", media_type=None, headers=SESSION_SET)},
    errors=(403,),
)
async def logout(request: Request) -> Response:
    response = Response(status_code=204)
    await end_session(services_of(request), request, response)
    return response


@documented(
    "changePassword",
    "Change my password; every other session of mine is signed out (`403 wrong_password`).",
    tag="auth",
    auth="signed_in",
    body=PasswordChange,
    answers={204: Answer("Changed.", media_type=None)},
    errors=(403, 429, 503),
)
async def change_password(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    body = await read_json(request, PasswordChange)
    pair = await _count_attempt(services, request, user.email)
    async with services.db.acquire() as conn:
        record = await accounts.login_record(conn, user.email)
    if record is None or not await services.passwords.matches(record[1], body.old_password):
        raise Forbidden("That is not your current password.", code="wrong_password")
    await _succeeded(services, user.email, pair)
    new_hash = await services.passwords.hash(body.new_password)
    current = session_hash(services, request)
    async with services.db.acquire() as conn, conn.transaction():
        await accounts.set_password(conn, user.id, new_hash, keep_session=current)
    return Response(status_code=204)


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me/password", change_password, methods=["POST"]),
]
