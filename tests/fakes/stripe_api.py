"""A local fake of the part of Stripe's HTTP API the app calls, on a real port, reached by the
official `stripe` library through STRIPE_API_BASE; and webhook events signed as Stripe signs them.

Only Checkout Sessions: `POST /v1/checkout/sessions` (form-encoded, as the library sends it; the
`Idempotency-Key` header makes a repeat return the first session) and a page at each session's
`url` standing in for Stripe's checkout page.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
import time
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

SECRET_KEY = "sk_test_fake"
WEBHOOK_SECRET = "whsec_test_fake"
_ids = itertools.count(1)


class FakeStripe:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        app = Starlette(
            routes=[
                Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
                Route("/pay/{session_id}", self._pay_page, methods=["GET"]),
            ]
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))

    async def __aenter__(self) -> FakeStripe:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # noqa: ASYNC110 uvicorn's Server has a flag, no event
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        await self._task

    async def _create_session(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {SECRET_KEY}":
            return JSONResponse({"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}, 401)
        form = dict(parse_qsl((await request.body()).decode()))
        self.requests.append(form)
        key = request.headers.get("idempotency-key")
        if key and key in self.by_key:
            return JSONResponse(self.by_key[key])
        number = next(_ids)
        session_id = f"cs_test_{number:06d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": f"pi_test_{number:06d}",
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
            "currency": form["line_items[0][price_data][currency]"],
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.url}/pay/{session_id}",
            "livemode": False,
        }
        self.sessions[session_id] = session
        if key:
            self.by_key[key] = session
        return JSONResponse(session)

    async def _pay_page(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        page = f'<!doctype html><link rel="icon" href="data:,"><title>Checkout</title><h1>Pay for {session_id}</h1>'
        return HTMLResponse(page)


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A Stripe event of `kind` about `obj`, as the webhook delivers it."""
    return {
        "id": event_id or f"evt_test_{next(_ids):06d}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": obj},
    }


def signed(body: dict[str, Any] | bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    """The payload and its `Stripe-Signature`: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={mac}"
