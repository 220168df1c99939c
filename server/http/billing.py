"""Buying credits: the packs, a Stripe Checkout Session for one, and Stripe's webhook (the only
proof of payment: the redirect back proves nothing). All `404` while billing is off."""

from __future__ import annotations

import logging
from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.billing.fulfilment import apply_event
from server.billing.stripe_gateway import StripeGateway
from server.http.answers import CheckoutReply, PackJson, PackList
from server.http.documented import Answer, documented
from server.http.sessions import current_user
from server.http.validation import Body, read_body, read_json, services_of
from server.services import Services
from storage import InvalidField, NotFound, purchases

__all__ = ["routes", "Checkout", "WEBHOOK_BODY_LIMIT"]

log = logging.getLogger(__name__)

# Stripe's events are a few KiB; anything this large is not one.
WEBHOOK_BODY_LIMIT = 64 * 1024


class Checkout(Body):
    pack: Annotated[str, Field(max_length=20, description="A pack's `id`, e.g. '50'.")]


def _gateway(services: Services) -> StripeGateway:
    if services.stripe is None:
        raise NotFound("Credits are not on sale here.", code="billing_off")
    return services.stripe


@documented(
    "creditPacks",
    "The credit packs on sale (`404` while billing is off).",
    tag="billing",
    auth="public",
    answers={200: Answer("The packs.", PackList)},
    errors=(404,),
)
async def packs(request: Request) -> Response:
    services = services_of(request)
    _gateway(services)
    currency = services.settings.credit_currency
    listed: list[PackJson] = [
        {"id": str(credits), "credits": credits, "amount": amount, "currency": currency}
        for credits, amount in services.settings.packs.items()
    ]
    return JSONResponse(PackList(packs=listed))


@documented(
    "checkout",
    "A Stripe Checkout Session for one pack: go to its `url` to pay.",
    tag="billing",
    auth="signed_in",
    body=Checkout,
    answers={200: Answer("Where to pay.", CheckoutReply)},
    errors=(403, 404, 429),
)
async def checkout(request: Request) -> Response:
    services = services_of(request)
    gateway = _gateway(services)
    user = await current_user(services, request)
    body = await read_json(request, Checkout)
    settings = services.settings
    credits = int(body.pack) if body.pack.isascii() and body.pack.isdigit() else 0
    if credits not in settings.packs:
        raise InvalidField("pack", "must be the id of a pack on sale")
    await services.limits.checkouts.hit(str(user.id))
    origin = (settings.public_url or str(request.base_url)).rstrip("/")
    session = await gateway.create_checkout(
        user_id=user.id,
        credits=credits,
        amount=settings.packs[credits],
        success_url=f"{origin}/?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{origin}/?checkout=cancelled",
    )
    async with services.db.acquire() as conn:
        await purchases.insert_purchase(
            conn,
            session_id=session.id,
            user_id=user.id,
            credits=credits,
            amount=settings.packs[credits],
            currency=settings.credit_currency,
        )
    return JSONResponse(CheckoutReply(url=session.url))


@documented(
    "stripeWebhook",
    "Stripe's events, signed (`Stripe-Signature`): no cookie, no Origin check.",
    tag="billing",
    auth="public",
    headers=({"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}},),
    answers={200: Answer("Received (a replay, or an event of no interest, changes nothing).", media_type=None)},
    errors=(400, 404, 413),
)
async def webhook(request: Request) -> Response:
    services = services_of(request)
    gateway = _gateway(services)
    payload = await read_body(request, WEBHOOK_BODY_LIMIT)
    try:
        event = gateway.verified_event(payload, request.headers.get("stripe-signature"))
    except Exception:
        log.warning("a webhook whose signature does not verify was refused")
        raise
    async with services.db.acquire() as conn, conn.transaction():
        applied = await apply_event(conn, event)
    log.info("stripe event %s (%s): %s", event.get("id"), event.get("type"), "applied" if applied else "a replay")
    return Response(status_code=200)


routes = [
    Route("/api/billing/packs", packs, methods=["GET"]),
    Route("/api/billing/checkout", checkout, methods=["POST"]),
    Route("/api/billing/webhook", webhook, methods=["POST"]),
]
