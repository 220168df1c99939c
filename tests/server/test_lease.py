"""The lease a painting step holds on its room: kept alive for the whole paint, and the paint
stopped the moment it is lost (server/play/lease.py)."""

import asyncio
import uuid

import pytest

from engine import Direction
from server.metrics import Metrics
from server.play import step as step_machine
from server.play.lease import LeaseLost, keep_lease
from server.play.recovery import reap_once
from server.play.turns import advance_turn
from storage import Database, accounts, credits, members, rooms
from storage.events import EventKind
from storage.rooms import RoomMode, RoomStatus
from tests.conftest import make_settings, running_app
from tests.generators import gate
from tests.play import new_player, open_room, settle, start, submit

# Seconds: renewed every third of it. Long enough that a loaded machine still renews in time.
LEASE = 1.0


async def test_a_lost_lease_stops_the_generator_and_refunds_the_step(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, step_lease_seconds=LEASE, reaper_interval_seconds=3600)
    async with running_app(settings) as client:
        host, user = await new_player(client)
        room = await start(host, await open_room(host))
        hung = gate(client)
        assert (await submit(host, room["id"])).status_code == 202
        await hung.entered.wait()
        await db.execute("DELETE FROM room_leases")  # as if another instance had taken the room
        await hung.cancelled.wait()  # the next renewal finds it gone and stops the painting
        await settle(host, room["id"])
    assert tuple(await db.fetchrow("SELECT status, reason FROM steps")) == ("aborted", "lease_lost")
    assert await db.fetchval("SELECT count(*) FROM tiles") == 0
    assert await db.fetchval("SELECT credits FROM users WHERE id = $1", user["id"]) == user["credits"]


@pytest.fixture
async def running_step(database_url, tmp_path):
    """A step begun through the real TX1, with a short lease, and the pool it was begun on."""
    settings = make_settings(database_url, tmp_path, step_lease_seconds=LEASE)
    async with Database(database_url) as pool:
        async with pool.acquire() as conn, conn.transaction():
            user = await accounts.insert_user(conn, email="lease@example.com", password_hash="x", display_name="L")
            await credits.post_credits(conn, user.id, 5, credits.LedgerKind.SIGNUP_GRANT)
            room = await rooms.insert_room(
                conn, name="lease", mode=RoomMode.OPEN, tile_size=256, max_steps=4, max_members=2,
                turn_seconds=None, host_id=user.id, invite_code="x",
            )  # fmt: skip
            await members.insert_member(conn, room.id, user.id)
            await rooms.set_status(conn, room, RoomStatus.PLAYING)
            await advance_turn(conn, room, settings, EventKind.TURN_CHANGED)
            room = await rooms.lock_room(conn, room.id)
        request = step_machine.StepRequest(room.turn.nonce, "a kite", Direction.RIGHT)
        step, _, _ = await step_machine.submit(pool, settings, room.id, user, str(uuid.uuid4()), request)
        yield pool, step, settings


async def test_the_lease_outlives_its_length_while_kept_and_expires_once_let_go(running_step, db):
    pool, step, settings = running_step
    async with keep_lease(pool, step, LEASE):
        await asyncio.sleep(2 * LEASE)  # the work: longer than the lease, e.g. a slow blob write
    assert await db.fetchval("SELECT expires_at > now() FROM room_leases") is True
    assert await reap_once(pool, Metrics(), settings) == {}
    await asyncio.sleep(LEASE)  # let go: nobody renews it now
    reaped = await reap_once(pool, Metrics(), settings)
    assert [event.kind for event in reaped[step.room_id]] == ["step.aborted"]


async def test_losing_the_lease_cancels_the_work_and_raises_lease_lost(running_step, db):
    pool, step, _ = running_step
    finished = False
    with pytest.raises(LeaseLost):
        async with asyncio.timeout(10), keep_lease(pool, step, LEASE):
            await db.execute("DELETE FROM room_leases")
            await asyncio.Event().wait()  # work that would never end on its own
            finished = True
    assert not finished
    assert asyncio.current_task().cancelling() == 0  # the cancel was ours, and it is consumed
    await step_machine.abort(pool, step, "lease_lost")  # what paint() does next
