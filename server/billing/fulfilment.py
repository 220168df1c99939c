"""What a Stripe webhook event does to the ledger: each paid Checkout Session is credited once,
refunds and disputes take the credits back as far as the balance allows, a dispute won gives back
what was taken. The event's id is recorded in the same transaction, so a replay does nothing, and
a delivery racing another of the same event waits for it on that id, then does nothing.

Every balance change is one ledger row and one audit row (by no operator) in that transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from storage import Connection, admin, credits, purchases
from storage.credits import LedgerKind
from storage.purchases import Purchase, PurchaseStatus

__all__ = ["apply_event", "HANDLED"]

log = logging.getLogger(__name__)

HANDLED = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
)


async def apply_event(conn: Connection, event: dict[str, Any]) -> bool:
    """Applies one verified event (in the caller's transaction); False when it is a replay."""
    if not await purchases.record_event(conn, str(event["id"]), str(event["type"])):
        return False
    kind, obj = event["type"], event["data"]["object"]
    if kind == "checkout.session.completed":
        await _session_completed(conn, obj, paid=obj.get("payment_status") == "paid")
    elif kind == "checkout.session.async_payment_succeeded":
        await _session_completed(conn, obj, paid=True)
    elif kind == "charge.refunded":
        await _refunded(conn, obj)
    elif kind == "charge.dispute.created":
        await _disputed(conn, obj)
    elif kind == "charge.dispute.closed" and obj.get("status") == "won":
        await _dispute_won(conn, obj)
    return True


async def _session_completed(conn: Connection, session: dict[str, Any], *, paid: bool) -> None:
    purchase = await purchases.lock_purchase(conn, str(session["id"]))
    if purchase is None:
        log.warning("webhook for checkout session %s, which we did not create: ignored", session["id"])
        return
    if session.get("payment_intent"):
        await purchases.set_payment_intent(conn, purchase.session_id, str(session["payment_intent"]))
    if not paid or purchase.status is not PurchaseStatus.PENDING:
        return  # paid later (an async payment), or credited already
    await purchases.mark_paid(conn, purchase.session_id)
    balance = await credits.post_credits(
        conn, purchase.user_id, purchase.credits, LedgerKind.PURCHASE, purchase_session=purchase.session_id
    )
    await _audit(conn, purchase, "purchase", {"credits": purchase.credits, "balance": balance})


async def _refunded(conn: Connection, charge: dict[str, Any]) -> None:
    purchase = await _paid_purchase(conn, charge.get("payment_intent"))
    if purchase is None:
        return
    # A partial refund takes back its share of the credits, rounded up.
    share = min(int(charge.get("amount_refunded", 0)), purchase.amount)
    owed = -(-purchase.credits * share // purchase.amount)
    await _claw_back(conn, purchase, owed, PurchaseStatus.REFUNDED, "refund")


async def _disputed(conn: Connection, dispute: dict[str, Any]) -> None:
    purchase = await _paid_purchase(conn, dispute.get("payment_intent"))
    if purchase is not None:
        await _claw_back(conn, purchase, purchase.credits, PurchaseStatus.DISPUTED, "dispute")


async def _dispute_won(conn: Connection, dispute: dict[str, Any]) -> None:
    purchase = await _paid_purchase(conn, dispute.get("payment_intent"))
    if purchase is None or purchase.status is not PurchaseStatus.DISPUTED:
        return
    returned = purchase.clawed_back
    if returned:
        balance = await credits.post_credits(
            conn, purchase.user_id, returned, LedgerKind.DISPUTE_RETURN, reason=f"dispute won: {purchase.session_id}"
        )
        await _audit(conn, purchase, "dispute_return", {"credits": returned, "balance": balance})
    await purchases.set_refund(conn, purchase.session_id, PurchaseStatus.PAID, clawed_back=0, shortfall=0)


async def _paid_purchase(conn: Connection, payment_intent: object) -> Purchase | None:
    purchase = None if not payment_intent else await purchases.lock_purchase_by_payment(conn, str(payment_intent))
    if purchase is None or purchase.status is PurchaseStatus.PENDING:
        log.warning("refund or dispute for payment %s, which credited nothing here: ignored", payment_intent)
        return None
    return purchase


async def _claw_back(conn: Connection, purchase: Purchase, owed: int, status: PurchaseStatus, why: str) -> None:
    """Takes back what is owed beyond what was taken before, as far as the balance allows: the
    balance never goes below 0, and what it could not give is the purchase's shortfall."""
    due = max(0, owed - purchase.clawed_back - purchase.shortfall)
    available = await credits.balance(conn, purchase.user_id, lock=True)
    taken = min(due, available)
    if taken:
        balance = await credits.post_credits(
            conn, purchase.user_id, -taken, LedgerKind.PURCHASE_CLAWBACK, reason=f"{why}: {purchase.session_id}"
        )
        await _audit(conn, purchase, f"{why}_clawback", {"credits": -taken, "balance": balance})
    await purchases.set_refund(
        conn,
        purchase.session_id,
        status,
        clawed_back=purchase.clawed_back + taken,
        shortfall=purchase.shortfall + due - taken,
    )


async def _audit(conn: Connection, purchase: Purchase, action: str, detail: dict[str, Any]) -> None:
    await admin.insert_audit(
        conn,
        admin_id=None,
        action=action,
        target_type="user",
        target_id=str(purchase.user_id),
        reason=f"Stripe: checkout session {purchase.session_id}",
        detail={"session_id": purchase.session_id, **detail},
    )
