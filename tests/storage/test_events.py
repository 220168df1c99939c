"""The room event log's times: an event is stamped when its row is written, under the room lock."""

import asyncpg

from storage import accounts, rooms
from storage import events as event_log
from storage.events import EventKind
from storage.rooms import RoomMode
from tests.play import new_player, open_room, start, step_and_settle


async def test_an_events_time_rises_with_its_seq_whichever_transaction_began_first(db, database_url):
    user = await accounts.insert_user(db, email="e@example.com", password_hash="x", display_name="E")
    room = await rooms.insert_room(
        db,
        name="times",
        mode=RoomMode.OPEN,
        tile_size=256,
        max_steps=4,
        max_members=2,
        turn_seconds=None,
        host_id=user.id,
        invite_code="times-invite",
    )
    early = await asyncpg.connect(database_url)
    try:
        async with early.transaction():
            await early.fetchval("SELECT 1")  # the transaction, and its now(), begin here
            async with db.transaction():  # another one begins later and appends first
                first = await event_log.append_event(db, room.id, EventKind.MEMBER_JOINED, {})
            second = await event_log.append_event(early, room.id, EventKind.MEMBER_JOINED, {})
    finally:
        await early.close()
    assert (first.seq, second.seq) == (1, 2)
    assert first.at < second.at
    stored = await db.fetch("SELECT at FROM room_events WHERE room_id = $1 ORDER BY seq", room.id)
    assert [row["at"] for row in stored] == [first.at, second.at]


async def test_a_commits_events_share_the_one_time_the_feed_sent(client, db):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    await step_and_settle(host, room["id"])
    times = await db.fetch(
        "SELECT kind, at FROM room_events WHERE room_id = $1 AND kind IN ('step.committed', 'turn.changed') "
        "ORDER BY seq DESC LIMIT 2",
        room["id"],
    )
    assert {row["kind"] for row in times} == {"step.committed", "turn.changed"}
    assert times[0]["at"] == times[1]["at"]
