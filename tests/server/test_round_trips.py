"""SQL round trips per step, counted on every asyncpg connection while one step runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest

import storage
from tests.conftest import make_settings, running_app
from tests.play import join, new_player, open_room, settle, snapshot, start, submit


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


# Warm, per step (the target is 8, from 43): the session lookup (1); the check, as
# lock_for_step() (who may see the room, the facts, the tiles painting needs, the
# Idempotency-Key's step), and TX1 as one statement written only if the room is as the check read
# it (2); TX2 as lock_for_commit() (with the turn order, the balances and the clock) and one
# statement of writes, likewise (2). No BEGIN or COMMIT, and no RESET on release.
SUBMIT_LIMIT = 3
STEP_LIMIT = 5


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


# Check + TX1 holds no transaction open between its two round trips: TX1 writes only if the room's
# seq is still the one the check read, else the check runs again on what changed.


def _after_each_read(monkeypatch: pytest.MonkeyPatch, read: str, changes: list[Callable[[], Awaitable[None]]]) -> list:
    """Makes the next calls of storage.rooms.`read` (a phase's read: the check before TX1, or TX2's)
    each followed by one of `changes`, before the phase's writes; returns (what was read, whether in
    a transaction) for each call."""
    real = getattr(storage.rooms, read)
    reads = []

    async def wrapped(conn, *args):
        found = await real(conn, *args)
        reads.append((found, conn.is_in_transaction()))
        if len(reads) <= len(changes):
            await changes[len(reads) - 1]()
        return found

    monkeypatch.setattr(storage.rooms, read, wrapped)
    return reads


async def _room_of_two(client):
    (host, _), (guest, _) = await new_player(client), await new_player(client)
    room = await open_room(host)
    await join(guest, room)
    return host, guest, await start(host, room)


async def _seqs(db) -> list:
    return [tuple(row) for row in await db.fetch("SELECT kind, seq FROM room_events ORDER BY seq")]


async def test_a_player_who_left_after_the_check_starts_no_step(client, db, monkeypatch):
    host, _, room = await _room_of_two(client)

    async def host_leaves() -> None:
        assert (await host.post(f"/api/rooms/{room['id']}/leave")).status_code == 204

    checks = _after_each_read(monkeypatch, "lock_for_step", [host_leaves])
    before = await db.fetchval("SELECT count(*) FROM credit_ledger")
    response = await submit(host, room["id"], nonce=room["turn"]["nonce"])
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_member", response.text
    assert [check.member for check, _ in checks] == [True, False]
    assert await db.fetchval("SELECT count(*) FROM steps") == 0
    assert await db.fetchval("SELECT count(*) FROM credit_ledger") == before


async def test_a_change_after_the_check_that_allows_the_step_begins_it_on_the_second_check(client, db, monkeypatch):
    host, guest, room = await _room_of_two(client)

    async def guest_leaves() -> None:
        assert (await guest.post(f"/api/rooms/{room['id']}/leave")).status_code == 204

    checks = _after_each_read(monkeypatch, "lock_for_step", [guest_leaves])
    response = await submit(host, room["id"], nonce=room["turn"]["nonce"])
    assert response.status_code == 202, response.text
    assert [check.room.seq for check, _ in checks] == [checks[0][0].room.seq, checks[0][0].room.seq + 1]
    assert [kind for kind, _ in await _seqs(db)][-2:] == ["member.left", "step.started"]
    await settle(host, room["id"])


async def test_a_room_that_changes_after_every_check_is_busy_and_records_nothing(client, db, monkeypatch):
    host, guest, room = await _room_of_two(client)

    async def guest_leaves() -> None:
        assert (await guest.post(f"/api/rooms/{room['id']}/leave")).status_code == 204

    async def guest_rejoins() -> None:
        await join(guest, room)

    _after_each_read(monkeypatch, "lock_for_step", [guest_leaves, guest_rejoins] * 3)
    response = await submit(host, room["id"], nonce=room["turn"]["nonce"])
    assert response.status_code == 503 and response.json()["error"]["code"] == "busy", response.text
    assert response.headers["Retry-After"] == "1"
    assert await db.fetchval("SELECT count(*) FROM steps") == 0


# TX2 holds no transaction open between its read and its writes either: the writes happen only if
# the room's seq is still the one read, else TX2 reads again; its last read locks the room.


async def _room_of_three(client):
    players = [await new_player(client) for _ in range(3)]
    room = await open_room(players[0][0])
    for player, _ in players[1:]:
        await join(player, room)
    return players, await start(players[0][0], room)


async def test_a_player_who_left_after_tx2_read_is_not_handed_the_turn(client, db, monkeypatch):
    [(host, _), (second, _), (_, third)], room = await _room_of_three(client)

    async def second_leaves() -> None:
        assert (await second.post(f"/api/rooms/{room['id']}/leave")).status_code == 204

    reads = _after_each_read(monkeypatch, "lock_for_commit", [second_leaves])
    response = await submit(host, room["id"], nonce=room["turn"]["nonce"])
    assert response.status_code == 202, response.text
    await settle(host, room["id"])
    # The first read's order had the second player next, who left before the writes: they did nothing.
    assert [check.room.seq for check, _ in reads] == [reads[0][0].room.seq, reads[0][0].room.seq + 1]
    assert [locked for _, locked in reads] == [False, False]
    kinds = [kind for kind, _ in await _seqs(db)]
    assert kinds[-4:] == ["step.started", "member.left", "step.committed", "turn.changed"]
    assert (await snapshot(host, room["id"]))["turn"]["player_id"] == third["id"]
    assert await db.fetchval("SELECT count(*) FROM tiles") == 1


async def test_a_room_that_changes_after_every_tx2_read_commits_under_its_lock(client, db, monkeypatch):
    [(host, _), (_, second_user), (third, _)], room = await _room_of_three(client)

    async def third_leaves() -> None:
        assert (await third.post(f"/api/rooms/{room['id']}/leave")).status_code == 204

    async def third_rejoins() -> None:
        await join(third, room)

    reads = _after_each_read(monkeypatch, "lock_for_commit", [third_leaves, third_rejoins])
    response = await submit(host, room["id"], nonce=room["turn"]["nonce"])
    assert response.status_code == 202, response.text
    await settle(host, room["id"])
    assert [locked for _, locked in reads] == [False, False, True]
    kinds = [kind for kind, _ in await _seqs(db)]
    assert kinds[-5:] == ["step.started", "member.left", "member.joined", "step.committed", "turn.changed"]
    assert (await snapshot(host, room["id"]))["turn"]["player_id"] == second_user["id"]
    assert await db.fetchval("SELECT count(*) FROM steps WHERE status = 'committed'") == 1


async def test_a_lease_that_expired_after_tx2_read_commits_nothing_and_is_refunded(client, db, monkeypatch):
    [(host, host_user), _, _], room = await _room_of_three(client)

    async def lease_expires() -> None:
        # No reaper runs and nothing appends an event: the room's seq stays as TX2 read it.
        await db.execute("UPDATE room_leases SET expires_at = now() - interval '1 second'")

    reads = _after_each_read(monkeypatch, "lock_for_commit", [lease_expires])
    before = await db.fetchval("SELECT credits FROM users WHERE id = $1", host_user["id"])
    response = await submit(host, room["id"], nonce=room["turn"]["nonce"])
    assert response.status_code == 202, response.text
    await settle(host, room["id"])
    assert [check.held for check, _ in reads] == [True, False]
    assert await db.fetchval("SELECT count(*) FROM tiles") == 0
    assert await db.fetchval("SELECT status || ':' || reason FROM steps") == "aborted:lease_lost"
    assert await db.fetchval("SELECT credits FROM users WHERE id = $1", host_user["id"]) == before
    assert [kind for kind, _ in await _seqs(db)][-2:] == ["step.started", "step.aborted"]
