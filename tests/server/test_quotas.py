"""Finding 7 (quotas): rooms per user per hour and in the lobby, live sockets per user and per
address, each `429` with its code and `Retry-After`; shared by instances through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from contextlib import AsyncExitStack

import httpx
import pytest
import websockets

from server.http.ratelimit import QuotaExceeded
from server.http.sessions import SESSION_COOKIE
from tests.conftest import browser, make_settings, running_app, signup
from tests.play import open_room, start
from tests.servers import LiveServer
from tests.sockets import room_socket


def _refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    assert int(response.headers["Retry-After"]) >= 1


async def test_rooms_created_per_hour_and_waiting_in_the_lobby_are_capped(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, rooms_per_hour=4, lobby_rooms_per_user=2)
    async with running_app(settings) as client:
        await signup(client)
        first = await open_room(client)
        await open_room(client)
        lobby_full = await client.post("/api/rooms", json={"name": "Third", "mode": "open"})
        _refused(lobby_full, "too_many_rooms")
        await start(client, first)  # one leaves the lobby: room for another
        await open_room(client)
        hourly = await client.post("/api/rooms", json={"name": "Fifth", "mode": "open"})
        _refused(hourly, "too_many_rooms")
        assert int(hourly.headers["Retry-After"]) > 60  # the hour's window, not a minute's
        async with browser(client) as other:
            user = await signup(other)
            await open_room(other)  # the quota is per user
            # Concurrent creations count one after another: hold the user's row lock until all
            # three wait for it; released, they see each other's rooms (one place was left).
            async with db.transaction():
                await db.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user["id"])
                racing = [
                    asyncio.create_task(other.post("/api/rooms", json={"name": f"Race {n}", "mode": "open"}))
                    for n in range(3)
                ]
                for _ in range(10_000):  # each ask yields to the racing requests
                    await db.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees one
                    if await db.fetchval(_WAITING_FOR_LOCKS) == 3:
                        break
                else:
                    raise AssertionError("the room creations never waited for the user's lock")
            answers = await asyncio.gather(*racing)
            assert sorted(answer.status_code for answer in answers) == [201, 429, 429]
    assert await db.fetchval("SELECT count(*) FROM rooms") == 5


_WAITING_FOR_LOCKS = """SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock'"""


async def _denied(opening) -> None:
    """The handshake is refused: 429, `too_many_connections` in the envelope, `Retry-After`."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with opening:
            pass
    response = refused.value.response
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert json.loads(response.body)["error"]["code"] == "too_many_connections"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_live_sockets_are_capped_per_user_and_per_address_and_freed_on_close(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, sockets_per_user=2, sockets_per_address=3)
    errors = _Records()  # uvicorn's own logger does not propagate to pytest's capture
    async with LiveServer(settings) as server:
        logging.getLogger("uvicorn.error").addHandler(errors)
        async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as host:
            await signup(host)
            await db.execute("UPDATE users SET is_admin = true")
            room = await open_room(host)
            async with AsyncExitStack() as open_sockets:
                first = await open_sockets.enter_async_context(room_socket(server, host, room["id"]))
                await open_sockets.enter_async_context(room_socket(server, host, room["id"]))
                await _denied(_socket(server, host, f"/ws/rooms/{room['id']}"))
                await _denied(_socket(server, host, "/ws/admin"))  # the admin feed counts too
                async with browser(host) as guest:
                    await signup(guest)
                    # Another user from the same address: one place left of the address's three.
                    await open_sockets.enter_async_context(room_socket(server, guest, room["id"]))
                    await _denied(_socket(server, guest, f"/ws/rooms/{room['id']}"))
                await first.ws.close()
                await first.ws.wait_closed()
                # The server releases the place as its handler ends, which the client's close
                # does not wait for: a refused attempt takes nothing, so try until one is let in.
                for _ in range(100):
                    with contextlib.suppress(websockets.InvalidStatus):
                        async with room_socket(server, host, room["id"]) as again:
                            assert (await again.frame())["type"] == "snapshot"
                            break
                else:
                    raise AssertionError("a closed socket's place was never released")
    logging.getLogger("uvicorn.error").removeHandler(errors)
    # Refusals are no alarms: nothing at ERROR (uvicorn's false one after a denial is dropped).
    assert not errors.records, [record.getMessage() for record in errors.records]


def _socket(server: LiveServer, player: httpx.AsyncClient, path: str):
    headers = {"Origin": server.url, "Cookie": f"{SESSION_COOKIE}={player.cookies[SESSION_COOKIE]}"}
    return websockets.connect(f"{server.ws_url}{path}", additional_headers=headers, compression=None)


async def test_two_instances_share_the_limits_through_redis(database_url, tmp_path, redis_server, db):
    settings = make_settings(
        database_url, tmp_path, redis_url=redis_server.url, rooms_per_hour=3, auth_attempts_per_email=2
    )
    async with running_app(settings) as one, running_app(settings) as two:
        user = await signup(one)
        two.cookies.set(SESSION_COOKIE, one.cookies[SESSION_COOKIE])
        await open_room(one)
        await open_room(two)
        await open_room(one)
        _refused(await two.post("/api/rooms", json={"name": "Fourth", "mode": "open"}), "too_many_rooms")
        # A failed sign-in on one instance counts on the other (the signup counted one already).
        wrong = {"email": user["email"], "password": "not the password"}
        assert (await one.post("/api/auth/login", json=wrong)).status_code == 401
        _refused(await two.post("/api/auth/login", json=wrong), "rate_limited")
        # Live places are shared too: what one instance holds, the other counts.
        held = one.app.state.services.limits.sockets_by_user
        other = two.app.state.services.limits.sockets_by_user
        for _ in range(settings.sockets_per_user):
            await held.acquire(str(user["id"]))
        with pytest.raises(QuotaExceeded) as full:
            await other.acquire(str(user["id"]))
        assert full.value.code == "too_many_connections"
        await held.release(str(user["id"]))
        await other.acquire(str(user["id"]))
    assert await db.fetchval("SELECT count(*) FROM rooms") == 3


async def test_a_rematch_counts_as_a_room_created(database_url, tmp_path):
    settings = make_settings(database_url, tmp_path, rooms_per_hour=2)
    async with running_app(settings) as client:
        await signup(client)
        room = await start(client, await open_room(client))
        assert (await client.post(f"/api/rooms/{room['id']}/finish")).status_code == 200
        again = await client.post(f"/api/rooms/{room['id']}/rematch")
        assert again.status_code == 201, again.text
        rematch = await start(client, again.json()["room"])
        assert (await client.post(f"/api/rooms/{rematch['id']}/finish")).status_code == 200
        _refused(await client.post(f"/api/rooms/{rematch['id']}/rematch"), "too_many_rooms")
