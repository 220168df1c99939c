"""SQL round trips per step, counted on every asyncpg connection while one step runs."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import make_settings, running_app
from tests.play import new_player, open_room, settle, snapshot, start, submit


class RoundTrips:
    """Counts what goes to Postgres and waits for its answer: each statement executed (a simple
    query such as BEGIN, COMMIT or a pool RESET, or an extended-protocol execute) and each
    statement prepared on a cache miss."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.statements: list[str] = []
        counter = self
        original_execute = asyncpg.Connection.execute
        original_internal = asyncpg.Connection._execute
        original_statement = asyncpg.Connection._get_statement
        prepared: set[int] = set()

        async def execute(self, query, *args, **kwargs):
            if not args:
                counter.note(query)
            return await original_execute(self, query, *args, **kwargs)

        async def internal(self, query, args, limit, timeout, **kwargs):
            counter.note(query)
            return await original_internal(self, query, args, limit, timeout, **kwargs)

        async def get_statement(self, query, *args, **kwargs):
            statement = await original_statement(self, query, *args, **kwargs)
            if id(statement) not in prepared:
                prepared.add(id(statement))
                counter.note("PREPARE " + query)
            return statement

        monkeypatch.setattr(asyncpg.Connection, "execute", execute)
        monkeypatch.setattr(asyncpg.Connection, "_execute", internal)
        monkeypatch.setattr(asyncpg.Connection, "_get_statement", get_statement)

    def note(self, query: str) -> None:
        self.count += 1
        self.statements.append(" ".join(query.split())[:90])

    def take(self) -> tuple[int, list[str]]:
        taken = (self.count, self.statements)
        self.count, self.statements = 0, []
        return taken


# Warm, per step, today (the target is 8, from 43): the session lookup and the route's
# visibility check (2); check + TX1 as BEGIN, lock_for_step() (which also finds the
# Idempotency-Key's step, under the room lock), one statement of writes, COMMIT (4); paint's read
# of the tiles (1); TX2 as BEGIN, lock_for_commit(), one statement of writes, the turn order with
# the clock, the turn with its event, the next player's balance, COMMIT (7). No RESET on release.
SUBMIT_LIMIT = 6
STEP_LIMIT = 14


async def test_a_step_costs_few_round_trips(database_url, tmp_path, monkeypatch):
    settings = make_settings(
        database_url, tmp_path / "data", reaper_interval_seconds=3600, bus_resync_seconds=3600, db_pool_max=2
    )
    async with running_app(settings) as client:
        host, _ = await new_player(client)
        room = await start(host, await open_room(host))
        trips = RoundTrips(monkeypatch)
        counts = []
        for number in range(6):
            nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
            trips.take()
            response = await submit(host, room["id"], "right", f"step {number}", nonce=nonce)
            assert response.status_code == 202, response.text
            submitted = trips.take()
            await settle(host, room["id"])
            counts.append((submitted, trips.take()))
        # The first steps warm each pooled connection's statement cache and type codecs.
        (submit_count, submit_statements), (paint_count, paint_statements) = counts[-1]
        statements = submit_statements + paint_statements
        print(f"{submit_count} + {paint_count} round trips:\n  " + "\n  ".join(statements))
        assert not any(s.startswith("RESET") or "pg_advisory_unlock_all" in s for s in statements)
        assert submit_count <= SUBMIT_LIMIT, submit_statements
        assert submit_count + paint_count <= STEP_LIMIT, statements
