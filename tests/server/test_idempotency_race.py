"""I5 under the worst interleaving: a replay that looked for its key before the original's TX1
committed, and whose own check runs after the original's TX2, still gets the original step."""

import asyncio
import uuid

import pytest

import storage
from tests.play import join, new_player, open_room, settle, start, submit


async def _started(client, players: int):
    """The host's browser and a started room of `players`, the host's turn first."""
    browsers = [await new_player(client) for _ in range(players)]
    host = browsers[0][0]
    room = await open_room(host)
    for player, _ in browsers[1:]:
        await join(player, room)
    return host, await start(host, room)


@pytest.mark.parametrize("players", [1, 2], ids=["solo_would_be_stale_nonce", "pair_would_be_not_your_turn"])
async def test_replay_racing_the_original_across_its_commit_returns_the_original(client, db, monkeypatch, players):
    host, room = await _started(client, players)
    nonce, key = room["turn"]["nonce"], str(uuid.uuid4())

    # The original is held right after its TX1; the replay just before its check, which is where
    # it looks its key up.
    original_in_tx1, original_may_commit = asyncio.Event(), asyncio.Event()
    replay_at_lock, replay_may_lock = asyncio.Event(), asyncio.Event()
    real_begin, real_lock = storage.steps.begin_step, storage.rooms.lock_for_step
    locks = 0

    async def begin_step(conn, **fields):
        begun = await real_begin(conn, **fields)
        original_in_tx1.set()
        await original_may_commit.wait()
        return begun

    async def lock_for_step(conn, *args):
        nonlocal locks
        locks += 1
        if locks == 2:
            replay_at_lock.set()
            await replay_may_lock.wait()
        return await real_lock(conn, *args)

    monkeypatch.setattr(storage.steps, "begin_step", begin_step)
    monkeypatch.setattr(storage.rooms, "lock_for_step", lock_for_step)

    original = asyncio.create_task(submit(host, room["id"], key=key, nonce=nonce))
    await original_in_tx1.wait()
    # The replay starts while the original's TX1 has not returned yet.
    replay = asyncio.create_task(submit(host, room["id"], key=key, nonce=nonce))
    await replay_at_lock.wait()
    original_may_commit.set()
    first = await original
    assert first.status_code == 202, first.text
    await settle(host, room["id"])  # TX2 committed: the turn has moved on, with a new nonce
    assert await db.fetchval("SELECT status FROM steps") == "committed"
    assert await db.fetchval("SELECT turn_nonce FROM rooms") != nonce

    replay_may_lock.set()
    second = await replay
    assert second.status_code == 200, second.text
    assert second.json()["step"]["id"] == first.json()["step"]["id"]
    assert second.json()["step"]["status"] == "committed"
    assert await db.fetchval("SELECT count(*) FROM steps") == 1


@pytest.mark.parametrize("players", [1, 2], ids=["solo", "pair"])
async def test_replay_checked_before_the_original_began_still_returns_the_original(client, db, monkeypatch, players):
    """The other order: both checks pass (no step for the key yet, the turn live), then the
    original begins and commits, then the replay's TX1 runs: it must see that the room moved on,
    check again and find the original, not start a second step."""
    host, room = await _started(client, players)
    nonce, key = room["turn"]["nonce"], str(uuid.uuid4())
    real_begin = storage.steps.begin_step
    held = [(asyncio.Event(), asyncio.Event()) for _ in range(2)]  # (at TX1, may go on), per request
    begins = 0

    async def begin_step(conn, **fields):
        nonlocal begins
        begins += 1
        if begins <= 2:
            arrived, may_go = held[begins - 1]
            arrived.set()
            await may_go.wait()
        return await real_begin(conn, **fields)

    monkeypatch.setattr(storage.steps, "begin_step", begin_step)
    original = asyncio.create_task(submit(host, room["id"], key=key, nonce=nonce))
    await held[0][0].wait()
    replay = asyncio.create_task(submit(host, room["id"], key=key, nonce=nonce))
    await held[1][0].wait()  # both checks passed
    held[0][1].set()
    first = await original
    assert first.status_code == 202, first.text
    await settle(host, room["id"])
    held[1][1].set()
    second = await replay
    assert second.status_code == 200, second.text
    assert second.json()["step"]["id"] == first.json()["step"]["id"]
    assert await db.fetchval("SELECT count(*) FROM steps") == 1
    assert await db.fetchval("SELECT count(*) FROM credit_ledger WHERE kind = 'step_debit'") == 1
