"""The daily allowance, granted lazily: when a user signs in, loads a page, takes the first step of
the day, or their turn begins (server/play/turns.py). storage.credits.grant_daily decides, once
per user per UTC day whoever asks."""

from __future__ import annotations

from server.settings import Settings
from storage import Database, accounts, credits
from storage.accounts import User

__all__ = ["with_allowance"]


async def with_allowance(db: Database, settings: Settings, user: User) -> User:
    """The user, after today's allowance if it was due."""
    if settings.daily_credits <= 0 or user.credits >= settings.daily_credits:
        return user
    async with db.acquire() as conn:
        async with conn.transaction():
            granted = await credits.grant_daily(conn, user.id, settings.daily_credits)
        if granted is None:
            return user
        return await accounts.user_by_id(conn, user.id) or user
