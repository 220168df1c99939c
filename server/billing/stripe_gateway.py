"""The one place the Stripe SDK is called: Checkout Sessions out, signed webhook events in.

`STRIPE_API_BASE` points the official client at another base URL (the test suite's fake of the
Stripe API on a local port); unset, it talks to Stripe. The webhook's signature is checked by the
library, with its default tolerance for the timestamp, before anything is read from the body.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import stripe

from server.settings import Settings
from storage import BadRequest, Unavailable

__all__ = ["CheckoutSession", "StripeGateway"]

log = logging.getLogger(__name__)

# Double clicks within this window make one session (Stripe keeps idempotency keys for 24 h).
_SAME_CLICK_SECONDS = 60


class _HTTPXClient(stripe.HTTPXClient):
    """stripe's own httpx adapter, but sending the already-encoded form as `content=`: it passes it
    as `data=`, which httpx deprecates for a body of bytes or text (stripe 16.1, httpx 0.28)."""

    def _get_request_args_kwargs(self, method: str, url: str, headers: Any, post_data: Any) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs["content"] = kwargs.pop("data") or None
        return args, kwargs


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        if not settings.stripe_secret_key:
            raise RuntimeError("billing is off: no STRIPE_SECRET_KEY")
        self.webhook_secret = settings.stripe_webhook_secret
        self.currency = settings.credit_currency
        self.http = _HTTPXClient()
        bases: Any = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.client = stripe.StripeClient(settings.stripe_secret_key, base_addresses=bases, http_client=self.http)

    async def __aenter__(self) -> StripeGateway:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.http.close_async()

    async def create_checkout(
        self, *, user_id: int, credits: int, amount: int, success_url: str, cancel_url: str
    ) -> CheckoutSession:
        """A Checkout Session in payment mode for one pack; the same user, pack and minute make one."""
        window = int(time.time()) // _SAME_CLICK_SECONDS
        key = hashlib.sha256(f"checkout:{user_id}:{credits}:{window}".encode()).hexdigest()
        try:
            session = await self._create(user_id, credits, amount, success_url, cancel_url, key)
        except stripe.StripeError as exc:
            log.warning("Stripe refused or missed a checkout session: %r", exc)
            raise Unavailable(
                "Payments cannot be taken right now; try again shortly.", code="payments_unavailable"
            ) from exc
        if not session.url:
            raise RuntimeError(f"Stripe gave checkout session {session.id} no URL")
        return CheckoutSession(session.id, session.url)

    async def _create(
        self, user_id: int, credits: int, amount: int, success_url: str, cancel_url: str, key: str
    ) -> stripe.checkout.Session:
        return await self.client.v1.checkout.sessions.create_async(
            {
                "mode": "payment",
                "client_reference_id": str(user_id),
                "metadata": {"user_id": str(user_id), "credits": str(credits), "pack": str(credits)},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": self.currency,
                            "unit_amount": amount,
                            "product_data": {"name": f"{credits} EXQUISITE credits"},
                        },
                    }
                ],
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            {"idempotency_key": key},
        )

    def verified_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event, once its `Stripe-Signature` proves Stripe sent this body; else BadRequest."""
        try:
            event = self.client.construct_event(payload.decode("utf-8"), signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
            raise BadRequest("The webhook's signature does not verify.", code="bad_signature") from exc
        body: dict[str, Any] = event.to_dict()
        return body
