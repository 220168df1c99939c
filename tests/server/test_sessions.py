"""Finding 12: my sessions, signing out everywhere else, idle expiry, and no-store answers."""

from __future__ import annotations

import httpx
import pytest
import websockets

from server.http.sessions import SESSION_COOKIE
from tests.conftest import browser, make_settings, signup
from tests.play import open_room
from tests.servers import LiveServer
from tests.sockets import room_socket


async def _second_session(client, user: dict):
    other = browser(client)
    login = await other.post("/api/auth/login", json={"email": user["email"], "password": "correct horse battery"})
    assert login.status_code == 200
    return other


async def test_a_session_unused_for_the_idle_days_ends_and_use_is_recorded_at_most_every_few_minutes(client, db):
    await signup(client)
    await db.execute("UPDATE sessions SET last_seen_at = now() - interval '6 days 23 hours'")
    assert (await client.get("/api/me")).status_code == 200
    assert await db.fetchval("SELECT now() - last_seen_at < interval '1 minute' FROM sessions")  # recorded
    await db.execute("UPDATE sessions SET last_seen_at = now() - interval '2 minutes'")
    assert (await client.get("/api/me")).status_code == 200
    assert await db.fetchval("SELECT now() - last_seen_at >= interval '2 minutes' FROM sessions")  # no write
    await db.execute("UPDATE sessions SET last_seen_at = now() - interval '7 days 1 minute'")
    response = await client.get("/api/me")
    assert response.status_code == 401  # idle too long, though the absolute expiry is weeks away
    assert await db.fetchval("SELECT expires_at > now() + interval '20 days' FROM sessions")


async def test_my_sessions_list_without_tokens_and_signing_out_everywhere_else_closes_their_sockets_with_4001(
    database_url, tmp_path, db
):
    async with LiveServer(make_settings(database_url, tmp_path)) as server:
        http = browser_at(server)
        assert "cache-control" not in (await http.get("/api/session")).headers  # public: caching as it was
        user = await signup(http)
        room = await open_room(http)
        other = await _second_session(http, user)
        gone = await _second_session(http, user)
        assert (await gone.post("/api/auth/logout")).status_code == 204
        response = await http.get("/api/me/sessions")
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        sessions = response.json()["sessions"]
        assert len(sessions) == 2 and [s["current"] for s in sessions].count(True) == 1
        assert set(sessions[0]) == {"id", "created_at", "last_seen_at", "expires_at", "current"}
        theirs = (await other.get("/api/me/sessions")).json()["sessions"]
        assert {s["id"] for s in theirs} == {s["id"] for s in sessions}
        assert next(s for s in theirs if s["current"])["id"] != next(s for s in sessions if s["current"])["id"]
        for token in (http.cookies[SESSION_COOKIE], other.cookies[SESSION_COOKIE]):
            assert token not in response.text
        for stored in await db.fetch("SELECT token_hash FROM sessions"):
            assert stored["token_hash"].hex() not in response.text  # a handle is a short prefix of it
        for path in ["/api/me", "/api/session", "/api/me/ledger", "/api/rooms", "/api/rooms/not-a-room"]:
            assert (await http.get(path)).headers["cache-control"] == "no-store", path  # refusals too

        async with room_socket(server, http, room["id"]) as here, room_socket(server, other, room["id"]) as there:
            await here.next("presence")
            await there.next("presence")
            assert (await http.post("/api/me/sessions/revoke-others")).status_code == 204
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await there.next("never")
            assert closed.value.rcvd.code == 4001
            await here.send({"type": "ping"})
            assert (await here.next("pong"))["type"] == "pong"  # this session's socket stays
        assert (await other.get("/api/me")).status_code == 401
        assert (await http.get("/api/me")).status_code == 200
        assert len((await http.get("/api/me/sessions")).json()["sessions"]) == 1
        assert (await browser(http).get("/api/me/sessions")).status_code == 401
        for client in (http, other, gone):
            await client.aclose()
    assert await db.fetchval("SELECT count(*) FROM sessions WHERE revoked_at IS NULL") == 1


def browser_at(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url})
