"""Credit purchases through Stripe Checkout, and the webhook events already acted on.

A purchase is `pending` until Stripe says it was paid, then `paid`, and `refunded` or `disputed`
if the money goes back. The ledger entries it causes are written by the caller in the same
transaction (server/billing/fulfilment.py); these functions only keep the purchase's own row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg
from typing_extensions import TypedDict

from storage.database import Connection

__all__ = [
    "PurchaseStatus",
    "Purchase",
    "PurchaseJson",
    "insert_purchase",
    "lock_purchase",
    "lock_purchase_by_payment",
    "set_payment_intent",
    "mark_paid",
    "set_refund",
    "record_event",
    "list_purchases",
]


class PurchaseStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


class PurchaseJson(TypedDict):
    session_id: str
    user_id: int
    credits: int
    amount: int
    currency: str
    status: str
    clawed_back: int
    shortfall: int
    created_at: str
    paid_at: str | None


@dataclass(frozen=True)
class Purchase:
    session_id: str
    user_id: int
    credits: int
    amount: int
    currency: str
    status: PurchaseStatus
    payment_intent: str | None
    clawed_back: int
    shortfall: int
    created_at: datetime
    paid_at: datetime | None

    def public(self) -> PurchaseJson:
        return {
            "session_id": self.session_id,
            "user_id": self.user_id,
            "credits": self.credits,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status.value,
            "clawed_back": self.clawed_back,
            "shortfall": self.shortfall,
            "created_at": self.created_at.isoformat(),
            "paid_at": None if self.paid_at is None else self.paid_at.isoformat(),
        }


_COLUMNS = """session_id, user_id, credits, amount, currency, status, payment_intent, clawed_back, shortfall,
    created_at, paid_at"""


def _purchase(row: asyncpg.Record) -> Purchase:
    fields = dict(row)
    fields["status"] = PurchaseStatus(fields["status"])
    return Purchase(**fields)


async def insert_purchase(
    conn: Connection, *, session_id: str, user_id: int, credits: int, amount: int, currency: str
) -> None:
    """Records a Checkout Session we created; the same session twice (a double click) is one row."""
    # Returns nothing.
    await conn.execute(
        """INSERT INTO purchases (session_id, user_id, credits, amount, currency)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING""",
        session_id,
        user_id,
        credits,
        amount,
        currency,
    )


async def lock_purchase(conn: Connection, session_id: str) -> Purchase | None:
    # Returns the purchase, row-locked for the caller's transaction.
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM purchases WHERE session_id = $1 FOR UPDATE", session_id)
    return None if row is None else _purchase(row)


async def lock_purchase_by_payment(conn: Connection, payment_intent: str) -> Purchase | None:
    # Returns the purchase paid by this payment intent, row-locked.
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM purchases WHERE payment_intent = $1 FOR UPDATE", payment_intent)
    return None if row is None else _purchase(row)


async def set_payment_intent(conn: Connection, session_id: str, payment_intent: str) -> None:
    # Returns nothing.
    await conn.execute("UPDATE purchases SET payment_intent = $2 WHERE session_id = $1", session_id, payment_intent)


async def mark_paid(conn: Connection, session_id: str) -> None:
    # Returns nothing.
    await conn.execute(
        "UPDATE purchases SET status = 'paid', paid_at = now() WHERE session_id = $1 AND status = 'pending'",
        session_id,
    )


async def set_refund(
    conn: Connection, session_id: str, status: PurchaseStatus, *, clawed_back: int, shortfall: int
) -> None:
    """Records where a purchase stands after money went back (or came back, a dispute won)."""
    # Returns nothing.
    await conn.execute(
        "UPDATE purchases SET status = $2, clawed_back = $3, shortfall = $4 WHERE session_id = $1",
        session_id,
        status,
        clawed_back,
        shortfall,
    )


async def record_event(conn: Connection, event_id: str, event_type: str) -> bool:
    """Records a webhook event id; False when it was recorded before (a replay), which waits for
    a concurrent delivery of the same event to commit or roll back first (the primary key)."""
    # Returns whether the id was new.
    inserted = await conn.fetchval(
        "INSERT INTO stripe_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING true",
        event_id,
        event_type,
    )
    return bool(inserted)


async def list_purchases(
    conn: Connection,
    *,
    user_id: int | None = None,
    status: PurchaseStatus | None = None,
    short_only: bool = False,
    limit: int = 200,
) -> list[Purchase]:
    # Returns purchases, newest first, of one user, one status, or with a shortfall, if asked.
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM purchases
            WHERE ($1::bigint IS NULL OR user_id = $1) AND ($2::text IS NULL OR status = $2)
              AND (NOT $4 OR shortfall > 0)
            ORDER BY created_at DESC LIMIT $3""",
        user_id,
        status,
        limit,
        short_only,
    )
    return [_purchase(row) for row in rows]
