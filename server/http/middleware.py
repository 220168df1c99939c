"""Pure ASGI middleware: request ids, metrics and last-resort errors; security headers."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import logs
from server.http.errors import error_response, internal_error_response
from server.http.sessions import SESSION_COOKIE
from server.metrics import Metrics
from storage import Unavailable

__all__ = ["RequestContext", "SecurityHeaders", "CONTENT_SECURITY_POLICY"]

log = logging.getLogger("exquisite.http")
access_log = logging.getLogger("exquisite.access")


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

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Unavailable as exc:
            # Raised where no route handler maps it (a middleware's own query): 503, no trace.
            log.warning("%s %s: %s (request %s)", scope["method"], scope["path"], exc.message, request_id)
            if response_started:
                raise
            await error_response(exc)(scope, receive, send_with_id)
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
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                },
            )


def _route_template(scope: Scope) -> str:
    """The matched route's path template, so that metrics do not grow a label per room id: the
    route Starlette's router chose, or for a request refused before routing (a foreign Origin)
    the one it would have chosen."""
    chosen = scope.get("route")
    if chosen is not None:
        return getattr(chosen, "path", "other")
    partial = "unmatched"
    for route in getattr(scope.get("app"), "routes", ()):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", "other")
        if match == Match.PARTIAL and partial == "unmatched":
            partial = getattr(route, "path", "other")  # right path, wrong method
    return partial


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

        signed_in = _carries_session(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
                if signed_in and _uncached_json(message["headers"]):
                    # An answer for one account: no cache (shared or the browser's) keeps it.
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _carries_session(scope: Scope) -> bool:
    cookies = b"; ".join(value for name, value in scope["headers"] if name == b"cookie")
    return SESSION_COOKIE.encode() + b"=" in cookies


def _uncached_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """A JSON answer that says nothing of caching itself."""
    names = {name.lower(): value for name, value in headers}
    return names.get(b"content-type", b"").startswith(b"application/json") and b"cache-control" not in names
