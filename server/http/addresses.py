"""The client's address, as the platform's proxy saw it (DESIGN.md section 7).

Each proxy appends the address it received a connection from to `X-Forwarded-For`, so only the
right-most entries were written by proxies we run behind; everything left of them is whatever the
client sent. With TRUSTED_PROXY_HOPS=N the client is the N-th entry from the right (Render: 1).
An entry that is not an IP address is ignored, and so is the header when fewer than N proxies
wrote it: the address stays the peer's. uvicorn's own proxy handling is off (server/cli.py):
with `FORWARDED_ALLOW_IPS="*"` it takes the LEFT-most entry, the one the client writes.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ForwardedFor", "forwarded_client", "client_address"]

_SCHEMES = {"http": {"http": "http", "https": "https"}, "websocket": {"http": "ws", "https": "wss"}}


def forwarded_client(header_values: list[str], hops: int) -> str | None:
    """The address `hops` entries from the right of the X-Forwarded-For lines, if it is one."""
    entries = [entry.strip() for value in header_values for entry in value.split(",")]
    if hops < 1 or len(entries) < hops:
        return None
    try:
        return str(ipaddress.ip_address(entries[-hops]))
    except ValueError:
        return None


def client_address(scope: Scope) -> str:
    """The address quotas count against: the connection's client, as ForwardedFor set it."""
    client = scope.get("client")
    return client[0] if client else "unknown"


class ForwardedFor:
    """Sets the scope's client (and scheme) from what the trusted proxies appended."""

    def __init__(self, app: ASGIApp, *, hops: int) -> None:
        self.app = app
        self.hops = hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hops and scope["type"] in _SCHEMES:
            headers = Headers(scope=scope)
            address = forwarded_client(headers.getlist("x-forwarded-for"), self.hops)
            if address is not None:
                scope = {**scope, "client": (address, 0)}
                # The proxy that wrote the address also says how the client reached it.
                scheme = _SCHEMES[scope["type"]].get(headers.get("x-forwarded-proto", "").strip().lower())
                if scheme is not None:
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)
