"""The daily allowance (once per user per UTC day, however instances race), my credit history,
and operators naming users by email."""

import asyncio

import asyncpg
import pytest

from server.http import account
from storage import accounts, credits
from tests.conftest import make_settings, running_app
from tests.play import new_player, open_room, start, step_and_settle


async def test_a_player_below_the_allowance_is_topped_up_once_a_day(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, signup_credits=0, daily_credits=10)
    async with running_app(settings) as client:
        player, user = await new_player(client)
        assert user["credits"] == 0 and user["daily_credits"] == 10
        me = (await player.get("/api/me")).json()
        assert me["credits"] == 10
        room = await start(player, await open_room(player))
        await step_and_settle(player, room["id"])
        assert (await player.get("/api/session")).json()["user"]["credits"] == 9  # not again today
    kinds = [row["kind"] for row in await db.fetch("SELECT kind FROM credit_ledger ORDER BY id")]
    assert kinds == ["daily_grant", "step_debit"]


async def test_racing_grants_give_one_allowance(database_url, db):
    """Two instances at once, forced in both orders the database can see them: the row lock
    makes the second wait and find the balance topped up; the (user, day) index stops one that
    arrives after the balance fell below the allowance again."""
    user = await accounts.insert_user(db, email="racer@example.com", password_hash="x", display_name="R")
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        waiting = None
        async with first.transaction():
            assert await credits.grant_daily(first, user.id, 10) == 10
            waiting = asyncio.create_task(_grant(second, user.id))
            await _until_blocked(db, second)
        assert await waiting is None  # it waited for the lock, then saw 10
        async with db.transaction():
            await credits.post_credits(db, user.id, -7, credits.LedgerKind.ADMIN_REVOKE, reason="spent")
        assert await _grant(second, user.id) is None  # below 10 again, but today's grant exists
    finally:
        await first.close()
        await second.close()
    assert await db.fetchval("SELECT count(*) FROM credit_ledger WHERE kind = 'daily_grant'") == 1


async def _grant(conn, user_id: int):
    async with conn.transaction():
        return await credits.grant_daily(conn, user_id, 10)


async def _until_blocked(db, conn) -> None:
    """Until `conn`'s backend waits on a lock: the race is forced, not timed."""
    pid = conn.get_server_pid()
    # Postgres signals no event for this, so its own view of the backend is read until it says so.
    while await db.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid) != "Lock":  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def test_my_ledger_pages_newest_first(client, monkeypatch):
    monkeypatch.setattr(account, "LEDGER_PAGE", 2)
    player, _ = await new_player(client)
    room = await start(player, await open_room(player))
    await step_and_settle(player, room["id"])
    await step_and_settle(player, room["id"])
    first = (await player.get("/api/me/ledger")).json()
    assert [e["kind"] for e in first["entries"]] == ["step_debit", "step_debit"]
    assert first["entries"][0]["room_id"] == room["id"] and first["entries"][0]["amount"] == -1
    last = (await player.get(f"/api/me/ledger?cursor={first['next_cursor']}")).json()
    assert [(e["kind"], e["amount"], e["room_id"]) for e in last["entries"]] == [("signup_grant", 20, None)]
    assert last["next_cursor"] is None
    for bad in ("abc", "-1", "9" * 40):
        response = await player.get(f"/api/me/ledger?cursor={bad}")
        assert response.status_code == 422 and response.json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("by", ["id", "email"])
async def test_operators_grant_credits_and_disable_by_id_or_email(client, db, by):
    operator, boss = await new_player(client)
    await accounts.make_admin(db, boss["email"])
    _, user = await new_player(client)
    name = user["id"] if by == "id" else user["email"].upper()
    reason = {"reason": "support ticket"}
    granted = await operator.post(f"/api/admin/users/{name}/credits", json={"delta": 5, **reason})
    assert granted.status_code == 200 and granted.json()["credits"] == user["credits"] + 5
    assert granted.json()["audit"]["target_id"] == str(user["id"])
    disabled = await operator.post(f"/api/admin/users/{name}/disable", json=reason)
    assert disabled.status_code == 200
    missing = await operator.post("/api/admin/users/nobody@example.com/credits", json={"delta": 5, **reason})
    assert missing.status_code == 404


async def test_the_allowance_can_be_turned_off(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, signup_credits=0, daily_credits=0)
    async with running_app(settings) as client:
        player, _ = await new_player(client)
        assert (await player.get("/api/me")).json()["credits"] == 0
    assert await db.fetchval("SELECT count(*) FROM credit_ledger") == 0
