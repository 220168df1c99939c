"""The credit ledger and the cached balance beside it (invariant I2)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import asyncpg

from storage.database import Connection
from storage.errors import PaymentRequired

__all__ = ["LedgerKind", "post_credits"]


class LedgerKind(StrEnum):
    SIGNUP_GRANT = "signup_grant"
    STEP_DEBIT = "step_debit"
    STEP_REFUND = "step_refund"
    ADMIN_GRANT = "admin_grant"
    ADMIN_REVOKE = "admin_revoke"


async def post_credits(
    conn: Connection,
    user_id: int,
    delta: int,
    kind: str,
    *,
    step_id: UUID | None = None,
    reason: str | None = None,
) -> int:
    """Appends one ledger entry and moves the cached balance with it; returns the new balance.

    Must run inside the caller's transaction so the two writes land together. A debit past zero
    trips the balance's CHECK and becomes PaymentRequired.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("post_credits needs the caller's transaction")
    try:
        # Returns the new cached balance.
        balance = await conn.fetchval(
            "UPDATE users SET credits = credits + $2 WHERE id = $1 RETURNING credits",
            user_id,
            delta,
        )
    except asyncpg.CheckViolationError as exc:
        raise PaymentRequired("Not enough credits for this.") from exc
    if balance is None:
        raise RuntimeError(f"no user {user_id}")
    # Returns nothing.
    await conn.execute(
        """INSERT INTO credit_ledger (user_id, delta, kind, step_id, reason)
           VALUES ($1, $2, $3, $4, $5)""",
        user_id,
        delta,
        kind,
        step_id,
        reason,
    )
    return balance
