"""The automatic rules, each raced by two instances: deadline skips and abandoned rooms, players
out of credits, idle rooms, and turn clocks that do not run while no instance serves."""

import asyncio
import json
import uuid
from datetime import timedelta

from server.play.recovery import reap_once
from tests.conftest import make_settings, running_app
from tests.play import join, new_player, open_room, snapshot, start


async def _reap(client) -> dict:
    services = client.app.state.services
    return await reap_once(services.db, services.metrics, services.settings)


async def _race(first, second) -> list:
    """Both instances reap at once; the events either appended, in one list."""
    results = await asyncio.gather(_reap(first), _reap(second))
    return [event for result in results for events in result.values() for event in events]


async def _pair(client, **fields):
    (host, host_user), (guest, guest_user) = [await new_player(client) for _ in range(2)]
    room = await open_room(host, **fields)
    await join(guest, room)
    room = await start(host, room)
    return room, (host, host_user), (guest, guest_user)


async def test_a_whole_round_passing_by_deadline_with_nobody_there_finishes_the_room(client, db, settings):
    room, (host, host_user), _ = await _pair(client, turn_seconds=60)
    async with running_app(settings) as other:
        await db.execute("UPDATE rooms SET turn_deadline = now() - interval '1 second'")
        first = await _race(client, other)
        assert [(e.kind, e.data["reason"]) for e in first] == [("turn.skipped", "deadline")]
        assert first[0].data["skipped_player_id"] == host_user["id"]
        await db.execute("UPDATE rooms SET turn_deadline = now() - interval '1 second'")
        second = await _race(client, other)
    assert [(e.kind, e.data["reason"]) for e in second] == [("room.finished", "abandoned")]
    assert (await snapshot(host, room["id"]))["status"] == "finished"


async def test_a_member_who_is_there_keeps_a_timed_room_going(client, db):
    room, (host, _), _ = await _pair(client, turn_seconds=60)
    for _ in range(3):
        # A hub saw a member's socket during the turn (what server/live/hub.py records).
        await db.execute("UPDATE rooms SET member_seen_at = now(), turn_deadline = now() - interval '1 second'")
        events = [e for events in (await _reap(client)).values() for e in events]
        assert [e.kind for e in events] == ["turn.skipped"]
    assert (await snapshot(host, room["id"]))["status"] == "playing"


async def test_a_player_out_of_credits_is_skipped_when_their_turn_begins(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, daily_credits=0)
    async with running_app(settings) as client:
        (host, _), (broke, broke_user), (cy, cy_user) = [await new_player(client) for _ in range(3)]
        room = await open_room(host)
        for player in (broke, cy):
            await join(player, room)
        await _spend_everything(db, broke_user["id"])
        started = await start(host, room)
        await host.post(f"/api/rooms/{room['id']}/skip")  # the host's turn passes: Bo cannot pay, Cy is up
        now = await snapshot(cy, room["id"])
        assert now["turn"]["player_id"] == cy_user["id"]
        listed = (await cy.get(f"/api/rooms/{room['id']}/events?after={started['seq']}")).json()["events"]
        assert [(e["kind"], e["data"]["reason"]) for e in listed] == [
            ("turn.skipped", "host"),
            ("turn.skipped", "no_credits"),
        ]
        assert listed[1]["data"]["skipped_player_id"] == broke_user["id"]


async def test_racing_reapers_skip_a_late_player_and_a_broke_one_once(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, daily_credits=0)
    async with running_app(settings) as client, running_app(settings) as other:
        (host, host_user), (broke, broke_user), (cy, cy_user) = [await new_player(client) for _ in range(3)]
        room = await open_room(host, turn_seconds=60)
        for player in (broke, cy):
            await join(player, room)
        await start(host, room)
        await _spend_everything(db, broke_user["id"])
        await db.execute("UPDATE rooms SET member_seen_at = now(), turn_deadline = now() - interval '1 second'")
        events = await _race(client, other)
    assert [(e.kind, e.data["reason"], e.data["skipped_player_id"]) for e in events] == [
        ("turn.skipped", "deadline", host_user["id"]),
        ("turn.skipped", "no_credits", broke_user["id"]),
    ]
    assert events[-1].data["turn"]["player_id"] == cy_user["id"]


async def test_nobody_able_to_pay_leaves_the_turn_where_it_is(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, daily_credits=0)
    async with running_app(settings) as client:
        (host, host_user), (bo, bo_user) = [await new_player(client) for _ in range(2)]
        room = await open_room(host)
        await join(bo, room)
        for user in (host_user, bo_user):
            await _spend_everything(db, user["id"])
        started = await start(host, room)
        kinds = [e["kind"] for e in (await host.get(f"/api/rooms/{room['id']}/events?after=2")).json()["events"]]
        assert kinds == ["room.started", "turn.changed", "turn.skipped"]  # one round, then it stops
        assert started["turn"]["player_id"] == bo_user["id"]


async def test_a_daily_allowance_saves_a_broke_player_from_the_skip(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, daily_credits=3)
    async with running_app(settings) as client:
        (host, _), (bo, bo_user) = [await new_player(client) for _ in range(2)]
        room = await open_room(host)
        await join(bo, room)
        await _spend_everything(db, bo_user["id"])
        await start(host, room)
        await host.post(f"/api/rooms/{room['id']}/skip")
        assert (await snapshot(bo, room["id"]))["turn"]["player_id"] == bo_user["id"]
        assert await db.fetchval("SELECT credits FROM users WHERE id = $1", bo_user["id"]) == 3


async def test_an_idle_room_finishes_once_however_many_instances_look(client, db, settings):
    room, (host, _), _ = await _pair(client)
    lobby = await open_room(host)
    async with running_app(settings) as other:
        fifteen_days_ago = "created_at = created_at - interval '15 days', started_at = started_at - interval '15 days'"
        await db.execute(f"UPDATE rooms SET {fifteen_days_ago}")
        finished = await _race(client, other)
    assert sorted((e.room_id, e.kind, e.data["reason"]) for e in finished) == sorted(
        [(uuid.UUID(room["id"]), "room.finished", "idle"), (uuid.UUID(lobby["id"]), "room.finished", "idle")]
    )


async def test_an_outage_gives_the_turn_clock_back(database_url, tmp_path, db):
    """32 s with every instance down, in a room with 20 s turns: afterwards the player still has
    a whole turn, and no instance skips them for the time nobody served."""
    settings = make_settings(database_url, tmp_path)
    async with running_app(settings) as client:
        room, (host, host_user), _ = await _pair(client, turn_seconds=20)
        seq = (await snapshot(host, room["id"]))["seq"]
    # Every instance is gone, and 32 seconds pass for the database's clock.
    outage = timedelta(seconds=32)
    await db.execute("UPDATE service_clock SET heartbeat_at = heartbeat_at - $1::interval", outage)
    earlier = "turn_deadline = turn_deadline - $1::interval, turn_started_at = turn_started_at - $1::interval"
    await db.execute(f"UPDATE rooms SET {earlier}", outage)
    async with running_app(settings) as first, running_app(settings) as second:
        await _race(first, second)  # each also reaped as it started; all of them find it once
    rows = await db.fetch("SELECT kind, data FROM room_events WHERE seq > $1 ORDER BY seq", seq)
    assert [row["kind"] for row in rows] == ["turn.extended"]
    extended = json.loads(rows[0]["data"])
    assert extended["outage_seconds"] >= 32 and extended["turn"]["player_id"] == host_user["id"]
    left = await db.fetchval("SELECT extract(epoch FROM turn_deadline - now()) FROM rooms")
    assert left >= 19  # a whole 20 s turn from now, less the moments this test took


async def _spend_everything(db, user_id: int) -> None:
    """Takes a user's whole balance away through the ledger, as an operator's revoke would."""
    async with db.transaction():
        balance = await db.fetchval("SELECT credits FROM users WHERE id = $1", user_id)
        await db.execute("UPDATE users SET credits = 0 WHERE id = $1", user_id)
        await db.execute(
            "INSERT INTO credit_ledger (user_id, delta, kind, reason) VALUES ($1, $2, 'admin_revoke', 'test')",
            user_id,
            -balance,
        )
