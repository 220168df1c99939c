"""Balance changes as Postgres announces them: a trigger on `users.credits` NOTIFYs after commit,
and every instance LISTENs, so a grant on one instance reaches the user's pages on all of them.

A NOTIFY sent while our listening connection is down is lost; the feed reconnects with backoff,
and a page that missed one sees its balance the next time it asks (/api/me), as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

__all__ = ["CreditFeed", "CHANNEL"]

log = logging.getLogger(__name__)

CHANNEL = "exquisite_credits"
OnCredits = Callable[[int, int], None]


class CreditFeed:
    def __init__(self, dsn: str, on_credits: OnCredits) -> None:
        self.dsn = dsn
        self.on_credits = on_credits
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CreditFeed:
        self._task = asyncio.create_task(self._listen(), name="credit-feed")
        # Listening before the app serves, so that no change after start-up goes unheard.
        try:
            await asyncio.wait_for(self.listening.wait(), timeout=10)
        except TimeoutError:
            log.warning("the credit feed is not listening yet; it keeps trying")
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
                log.warning("the credit feed cannot reach Postgres: %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            try:
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._notified)
                self.listening.set()
                backoff = 0.05
                await lost.wait()
                log.warning("the credit feed lost its connection; reconnecting")
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            user_id, credits = str(payload).split(":")
            self.on_credits(int(user_id), int(credits))
        except ValueError:
            log.warning("a credit announcement %r is not user:credits", payload)
