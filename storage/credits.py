"""The credit ledger and the cached balance beside it (invariant I2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg

from storage.database import Connection
from storage.errors import PaymentRequired

__all__ = ["LedgerKind", "LedgerEntry", "post_credits", "grant_daily", "balance_after_daily", "balance", "ledger_page"]


class LedgerKind(StrEnum):
    SIGNUP_GRANT = "signup_grant"
    STEP_DEBIT = "step_debit"
    STEP_REFUND = "step_refund"
    ADMIN_GRANT = "admin_grant"
    ADMIN_REVOKE = "admin_revoke"
    DAILY_GRANT = "daily_grant"
    PURCHASE = "purchase"
    PURCHASE_CLAWBACK = "purchase_clawback"
    DISPUTE_RETURN = "dispute_return"


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    kind: str
    amount: int
    room_id: UUID | None
    step_id: UUID | None
    at: datetime


async def post_credits(
    conn: Connection,
    user_id: int,
    delta: int,
    kind: str,
    *,
    step_id: UUID | None = None,
    reason: str | None = None,
    purchase_session: str | None = None,
) -> int:
    """Appends one ledger entry and moves the cached balance with it; returns the new balance.

    Must run inside the caller's transaction so the two writes land together. A debit past zero
    trips the balance's CHECK and becomes PaymentRequired.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("post_credits needs the caller's transaction")
    try:
        # Returns the new cached balance; the ledger entry is written by the same statement.
        balance = await conn.fetchval(
            """WITH moved AS (UPDATE users SET credits = credits + $2 WHERE id = $1 RETURNING credits),
                    entry AS (
                        INSERT INTO credit_ledger (user_id, delta, kind, step_id, reason, purchase_session)
                        SELECT $1, $2, $3, $4, $5, $6 FROM moved)
               SELECT credits FROM moved""",
            user_id,
            delta,
            kind,
            step_id,
            reason,
            purchase_session,
        )
    except asyncpg.CheckViolationError as exc:
        raise PaymentRequired("Not enough credits for this.") from exc
    if balance is None:
        raise RuntimeError(f"no user {user_id}")
    return balance


async def grant_daily(conn: Connection, user_id: int, allowance: int) -> int | None:
    """Tops the user up to `allowance` if they are below it and have had no daily grant this UTC
    day; returns the new balance, or None when nothing was granted.

    The ledger's unique (user, day) index decides, so racing instances grant once; the user's row
    is locked first so the amount matches the balance it tops up.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("grant_daily needs the caller's transaction")
    if allowance <= 0:
        return None
    # Returns the balance, row-locked.
    current = await conn.fetchval("SELECT credits FROM users WHERE id = $1 FOR UPDATE", user_id)
    if current is None or current >= allowance:
        return None
    # Returns the new entry's id, or nothing when today's grant exists.
    granted = await conn.fetchval(
        """INSERT INTO credit_ledger (user_id, delta, kind, grant_day)
           VALUES ($1, $2, 'daily_grant', (now() AT TIME ZONE 'UTC')::date)
           ON CONFLICT (user_id, grant_day) WHERE kind = 'daily_grant' DO NOTHING RETURNING id""",
        user_id,
        allowance - current,
    )
    if granted is None:
        return None
    # Returns the new cached balance.
    new_balance: int = await conn.fetchval(
        "UPDATE users SET credits = credits + $2 WHERE id = $1 RETURNING credits", user_id, allowance - current
    )
    return new_balance


async def balance_after_daily(conn: Connection, user_id: int, allowance: int) -> int:
    """grant_daily(), then the balance, locked for the caller's transaction: one round trip when
    no grant is due (the usual case)."""
    if allowance <= 0:
        return await balance(conn, user_id, lock=True)
    # Returns the balance, row-locked.
    current = await conn.fetchval("SELECT credits FROM users WHERE id = $1 FOR UPDATE", user_id)
    if current is None:
        raise RuntimeError(f"no user {user_id}")
    if current >= allowance:
        return int(current)
    granted = await grant_daily(conn, user_id, allowance)
    return current if granted is None else granted


async def balance(conn: Connection, user_id: int, *, lock: bool = False) -> int:
    # Returns the user's cached balance; locked for the caller's transaction if asked.
    query = "SELECT credits FROM users WHERE id = $1" + (" FOR UPDATE" if lock else "")
    credits: int | None = await conn.fetchval(query, user_id)
    if credits is None:
        raise RuntimeError(f"no user {user_id}")
    return credits


async def ledger_page(conn: Connection, user_id: int, before_id: int | None, limit: int) -> list[LedgerEntry]:
    # Returns the user's ledger entries older than `before_id`, newest first, with their rooms.
    rows = await conn.fetch(
        """SELECT l.id, l.kind, l.delta AS amount, s.room_id, l.step_id, l.created_at AS at
           FROM credit_ledger l LEFT JOIN steps s ON s.id = l.step_id
           WHERE l.user_id = $1 AND ($2::bigint IS NULL OR l.id < $2)
           ORDER BY l.id DESC LIMIT $3""",
        user_id,
        before_id,
        limit,
    )
    return [LedgerEntry(**dict(row)) for row in rows]
