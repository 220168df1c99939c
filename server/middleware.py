"""Pure ASGI middleware: request ids, metrics and last-resort errors; the Origin guard."""

from __future__ import annotations

import logging
import time
import uuid
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from server import logs
from server.envelope import error_response, internal_error_response
from server.metrics import Metrics
from storage import Forbidden

__all__ = [
    "RequestContext",
    "OriginGuard",
    "SecurityHeaders",
    "SESSION_COOKIE",
    "from_our_origin",
    "origin_allowed",
    "origin_of",
]

log = logging.getLogger("exquisite.http")
access_log = logging.getLogger("exquisite.access")

SESSION_COOKIE = "exq_session"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class RequestContext:
    """Gives every request an id (echoed as X-Request-Id), counts it, and turns an unexpected
    exception into a 500 envelope whose trace goes only to the log."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        logs.request_id.set(request_id)
        logs.user_id.set(None)
        logs.room_id.set(None)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s (request %s)", scope["method"], scope["path"], request_id)
            if response_started:
                raise
            await internal_error_response(request_id)(scope, receive, send_with_id)
        finally:
            route = _route_template(scope)
            seconds = time.perf_counter() - started
            self.metrics.observe_request(route, scope["method"], status, seconds)
            access_log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra={"method": scope["method"], "path": scope["path"], "status": status, "ms": round(seconds * 1000, 1)},
            )


def _route_template(scope: Scope) -> str:
    """The matched route's path template, so that metrics do not grow a label per room id."""
    partial = "unmatched"
    for route in getattr(scope.get("app"), "routes", ()):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", "other")
        if match == Match.PARTIAL and partial == "unmatched":
            partial = getattr(route, "path", "other")  # right path, wrong method
    return partial


class OriginGuard:
    """Refuses state-changing requests that carry the session cookie from a foreign origin.

    The expected origin is PUBLIC_URL; in development, also the request's own host, so that
    http://127.0.0.1:8000 and http://localhost:8000 both work.
    """

    def __init__(self, app: ASGIApp, *, public_url: str | None, development: bool) -> None:
        self.app = app
        self.public_origin = origin_of(public_url) if public_url else None
        self.development = development

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            headers = Headers(scope=scope)
            carries_session = SESSION_COOKIE in cookie_parser(headers.get("cookie", ""))
            if carries_session and not self.allowed(headers):
                exc = Forbidden("This request came from another site.", code="bad_origin")
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def allowed(self, headers: Headers) -> bool:
        return origin_allowed(headers, self.public_origin, self.development)


def from_our_origin(headers: Headers, public_url: str | None, development: bool) -> bool:
    """origin_allowed for the raw settings: what a websocket handshake checks."""
    return origin_allowed(headers, origin_of(public_url) if public_url else None, development)


def origin_allowed(headers: Headers, public_origin: str | None, development: bool) -> bool:
    """Whether the request's Origin is ours: PUBLIC_URL's, or in development the request's
    own host (so that 127.0.0.1 and localhost both work)."""
    origin = headers.get("origin")
    if not origin or origin == "null":
        return False
    origin = origin_of(origin)
    if origin == public_origin:
        return True
    if development or public_origin is None:
        host = headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")
    return False


def origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


# Only our own origin, for everything; previews arrive as data: URLs. No framing by anyone.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeaders:
    """The same protective headers on every HTTP response, in development too, so that the
    browser tests run under the policy production serves."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if production:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
