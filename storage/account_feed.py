"""What happens to accounts, as Postgres announces it after commit, to every instance: balances
(a trigger on `users.credits`) and revocations (a session revoked, a user disabled), so that a
grant shows and a signed-out socket closes on whichever instance holds the user's pages.

A NOTIFY sent while our listening connection is down is lost; the feed reconnects with backoff.
A page that missed a balance reads it the next time it asks (/api/session); a socket that missed
its revocation still fails its next request, and its next handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

__all__ = ["AccountFeed", "CREDITS", "REVOKED"]

log = logging.getLogger(__name__)

CREDITS = "exquisite_credits"  # "user_id:credits"
REVOKED = "exquisite_revoked"  # "user_id:<session token hash, hex>", or "user_id:*" for every session
OnCredits = Callable[[int, int], None]
OnRevoked = Callable[[int, bytes | None], None]


class AccountFeed:
    def __init__(self, dsn: str, on_credits: OnCredits, on_revoked: OnRevoked) -> None:
        self.dsn = dsn
        self.on_credits = on_credits
        self.on_revoked = on_revoked
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AccountFeed:
        self._task = asyncio.create_task(self._listen(), name="account-feed")
        # Listening before the app serves, so that no change after start-up goes unheard.
        try:
            await asyncio.wait_for(self.listening.wait(), timeout=10)
        except TimeoutError:
            log.warning("the account feed is not listening yet; it keeps trying")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        backoff = 0.05
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self.dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("the account feed cannot reach Postgres: %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            try:
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(CREDITS, self._credits)
                await conn.add_listener(REVOKED, self._revoked)
                self.listening.set()
                backoff = 0.05
                await lost.wait()
                log.warning("the account feed lost its connection; reconnecting")
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    def _credits(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            user_id, credits = str(payload).split(":")
            self.on_credits(int(user_id), int(credits))
        except ValueError:
            log.warning("a credit announcement %r is not user:credits", payload)

    def _revoked(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            user_id, session = str(payload).split(":")
            self.on_revoked(int(user_id), None if session == "*" else bytes.fromhex(session))
        except ValueError:
            log.warning("a revocation %r is not user:session", payload)
