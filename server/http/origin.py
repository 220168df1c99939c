"""The Origin guard: state-changing requests and websocket handshakes must come from our own pages.

The session cookie is SameSite=Lax, which keeps most cross-site requests from carrying it; the
Origin check also covers what Lax does not: sibling subdomains (same-site to a browser), browsers
without SameSite, and websocket handshakes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from server.http.errors import error_response
from server.http.sessions import SESSION_COOKIE
from storage import Forbidden

__all__ = ["OriginGuard", "from_our_origin", "origin_allowed", "origin_of"]

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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
