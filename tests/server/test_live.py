"""The live room over real websockets on a real uvicorn socket (docs/protocol.md)."""

import asyncio
import socket
from contextlib import asynccontextmanager

import httpx
import pytest
import websockets

from server.http.sessions import SESSION_COOKIE
from storage import events as event_log
from tests.conftest import browser, make_settings
from tests.play import join, new_player, open_room, settle, snapshot, start, step_and_settle
from tests.servers import LiveServer
from tests.sockets import room_socket


@asynccontextmanager
async def live(database_url, tmp_path, send_buffer=None, **overrides):
    settings = make_settings(database_url, tmp_path / "live", **overrides)
    async with LiveServer(settings, send_buffer=send_buffer) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
            http.app = server.app
            yield server, http


async def test_socket_gets_snapshot_first_then_presence_then_live_events(database_url, tmp_path):
    async with live(database_url, tmp_path) as (server, http):
        host, host_user = await new_player(http)
        room = await open_room(host)
        async with room_socket(server, host, room["id"]) as sock:
            first = await sock.frame()
            assert first["type"] == "snapshot" and first["room"]["id"] == room["id"]
            assert first["room"]["seq"] == 1 and first["room"]["invite_code"] == room["invite_code"]
            presence = await sock.frame()
            assert presence == {"type": "presence", "players_online": [host_user["id"]], "spectators": 0}
            guest, guest_user = await new_player(http)
            await join(guest, room)
            joined = await sock.next("event")
            assert joined["seq"] == 2 and joined["kind"] == "member.joined"
            assert joined["data"]["user_id"] == guest_user["id"] and joined["at"]
            await sock.send({"type": "ping"})
            assert (await sock.next("pong")) == {"type": "pong"}


async def test_presence_counts_players_and_spectators(database_url, tmp_path):
    async with live(database_url, tmp_path) as (server, http):
        host, host_user = await new_player(http)
        watcher, _ = await new_player(http)
        room = await open_room(host)
        async with room_socket(server, host, room["id"]) as sock:
            await sock.next("presence")
            async with room_socket(server, watcher, room["id"]) as spectator:
                assert (await spectator.frame())["type"] == "snapshot"
                assert "invite_code" not in (await snapshot(watcher, room["id"]))
                seen = await sock.next("presence")
                assert seen == {"type": "presence", "players_online": [host_user["id"]], "spectators": 1}
            assert (await sock.next("presence"))["spectators"] == 0


async def test_a_removed_players_socket_counts_as_a_spectator_and_a_players_as_attending(database_url, tmp_path, db):
    async with live(database_url, tmp_path) as (server, http):
        host, host_user = await new_player(http)
        guest, guest_user = await new_player(http)
        room = await open_room(host)
        await join(guest, room)
        async with room_socket(server, host, room["id"]) as sock, room_socket(server, guest, room["id"]):
            both = {"type": "presence", "players_online": sorted([host_user["id"], guest_user["id"]]), "spectators": 0}
            while await sock.next("presence") != both:
                pass
            assert await db.fetchval("SELECT member_seen_at IS NOT NULL FROM rooms")  # for the abandoned rule
            await host.post(f"/api/rooms/{room['id']}/members/{guest_user['id']}/remove")
            assert (await sock.next_event("member.left"))["data"]["reason"] == "removed"
            after = await sock.next("presence")
            assert after == {"type": "presence", "players_online": [host_user["id"]], "spectators": 1}


async def test_every_socket_of_a_user_hears_their_balance_change(database_url, tmp_path, db):
    async with live(database_url, tmp_path) as (server, http):
        host, host_user = await new_player(http)
        room = await start(host, await open_room(host))
        async with room_socket(server, host, room["id"]) as sock, room_socket(server, host, room["id"]) as tab:
            await sock.next("presence")
            await tab.next("snapshot")  # both registered with the hub before the debit
            await step_and_settle(host, room["id"])  # the debit
            assert await sock.next("account") == {"type": "account", "credits": host_user["credits"] - 1}
            assert await tab.next("account") == {"type": "account", "credits": host_user["credits"] - 1}
            await db.execute("UPDATE users SET credits = credits + 5 WHERE id = $1", host_user["id"])
            await db.execute(
                "INSERT INTO credit_ledger (user_id, delta, kind, reason) VALUES ($1, 5, 'admin_grant', 'test')",
                host_user["id"],
            )
            assert await sock.next("account") == {"type": "account", "credits": host_user["credits"] + 4}


async def test_reconnect_with_after_gets_exactly_the_missed_events(database_url, tmp_path):
    async with live(database_url, tmp_path) as (server, http):
        host, _ = await new_player(http)
        guest, _ = await new_player(http)
        room = await open_room(host)
        async with room_socket(server, host, room["id"]) as sock:
            seen = (await sock.frame())["room"]["seq"]
        await join(guest, room)
        await start(host, room)
        await step_and_settle(host, room["id"])
        head = (await snapshot(host, room["id"]))["seq"]
        async with room_socket(server, host, room["id"], after=seen) as sock:
            missed = await sock.events(head - seen)
            assert [e["seq"] for e in missed] == list(range(seen + 1, head + 1))
            assert [e["kind"] for e in missed][:3] == ["member.joined", "room.started", "turn.changed"]
            await step_and_settle(guest, room["id"])
            live_event = await sock.next("event")
            assert live_event["seq"] == head + 1  # no gap, no duplicate


async def test_resume_survives_a_server_restart(database_url, tmp_path):
    async with live(database_url, tmp_path) as (server, http):
        host, _ = await new_player(http)
        room = await start(host, await open_room(host))
        async with room_socket(server, host, room["id"]) as sock:
            seen = (await sock.frame())["room"]["seq"]
        token = host.cookies[SESSION_COOKIE]
    async with live(database_url, tmp_path) as (server, http):
        http.cookies.set(SESSION_COOKIE, token)
        await step_and_settle(http, room["id"])
        async with room_socket(server, http, room["id"], after=seen) as sock:
            missed = await sock.events(3)
            assert [e["seq"] for e in missed] == [seen + 1, seen + 2, seen + 3]
            assert [e["kind"] for e in missed] == ["step.started", "step.committed", "turn.changed"]


async def test_reconnect_too_far_behind_gets_a_snapshot(database_url, tmp_path):
    async with live(database_url, tmp_path, ws_resume_window=2) as (server, http):
        host, _ = await new_player(http)
        room = await start(host, await open_room(host))
        await step_and_settle(host, room["id"])
        async with room_socket(server, host, room["id"], after=1) as sock:
            first = await sock.frame()
            assert first["type"] == "snapshot" and first["room"]["seq"] == 6
        async with room_socket(server, host, room["id"], after=99) as sock:
            assert (await sock.frame())["type"] == "snapshot"


@pytest.mark.parametrize("how", ["foreign_origin", "anonymous", "bad_cookie", "folded_stranger", "unknown_room"])
async def test_handshake_is_refused(database_url, tmp_path, how):
    async with live(database_url, tmp_path) as (server, http):
        host, _ = await new_player(http)
        stranger, _ = await new_player(http)
        room = await open_room(host, mode="folded" if how == "folded_stranger" else "open")
        player, options = host, {}
        if how == "foreign_origin":
            options["origin"] = "http://evil.example"
        elif how == "anonymous":
            options["cookie"] = False
        elif how == "bad_cookie":
            player = httpx.AsyncClient()
            player.cookies.set(SESSION_COOKIE, "forged")
        elif how == "folded_stranger":
            player = stranger
        room_id = "00000000-0000-0000-0000-000000000000" if how == "unknown_room" else room["id"]
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with room_socket(server, player, room_id, **options):
                pass
        assert refused.value.response.status_code == 403


async def test_step_submit_over_the_socket_answers_like_http(database_url, tmp_path):
    async with live(database_url, tmp_path) as (server, http):
        host, _ = await new_player(http)
        guest, _ = await new_player(http)
        room = await open_room(host)
        await join(guest, room)
        room = await start(host, room)
        submit = {
            "type": "step.submit",
            "idempotency_key": "ws-1",
            "turn_nonce": room["turn"]["nonce"],
            "prompt": "over the socket",
            "direction": "up",
        }
        async with room_socket(server, guest, room["id"]) as sock:
            await sock.send(submit)
            refused = await sock.next("error")
            assert refused["code"] == "not_your_turn"
        async with room_socket(server, host, room["id"]) as sock:
            await sock.send({**submit, "idempotency_key": None})
            assert (await sock.next("error"))["code"] == "missing_idempotency_key"
            await sock.send({**submit, "prompt": ""})
            assert (await sock.next("error"))["code"] == "invalid_field"
            await sock.send(submit)
            accepted = await sock.next("step.accepted")
            assert accepted["status"] == 202 and accepted["step"]["prompt"] == "over the socket"
            await settle(host, room["id"])
            await sock.send(submit)
            replay = await sock.next("step.accepted")
            assert replay["status"] == 200 and replay["step"]["id"] == accepted["step"]["id"]
            await sock.send({"type": "dance"})
            assert (await sock.next("error"))["code"] == "unknown_type"
            await sock.ws.send("not json")
            assert (await sock.next("error"))["code"] == "malformed_json"


async def test_binary_and_deeply_nested_frames_get_an_error_frame_and_no_trace(database_url, tmp_path, caplog):
    async with live(database_url, tmp_path) as (server, http):
        host, _ = await new_player(http)
        room = await open_room(host)
        async with room_socket(server, host, room["id"]) as sock:
            for bad in (b"\x00\x01binary", "[" * 100_000, "[1, 2]"):
                await sock.ws.send(bad)
                assert (await sock.next("error"))["code"] == "malformed_json"
            await sock.send({"type": "ping"})
            assert (await sock.next("pong"))["type"] == "pong"  # still open and answering
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"


async def test_folded_room_frames_carry_nothing_the_receiver_may_not_see(database_url, tmp_path):
    async with live(database_url, tmp_path, mock_delay_ms=30) as (server, http):
        host, host_user = await new_player(http)
        guest, _ = await new_player(http)
        room = await open_room(host, mode="folded")
        await join(guest, room)
        room = await start(host, room)
        async with room_socket(server, host, room["id"]) as painter, room_socket(server, guest, room["id"]) as other:
            first = {"painter": await painter.frame(), "other": await other.frame()}
            assert {frame["type"] for frame in first.values()} == {"snapshot"}
            # The way on is the current player's alone (DESIGN section 3).
            assert first["painter"]["room"]["free_directions"] == ["left", "right", "up", "down"]
            assert first["other"]["room"]["free_directions"] == [] and first["other"]["room"]["frontier"] is None
            step = await step_and_settle(host, room["id"], prompt="hidden words")
            assert step["status"] == "committed"
            painter_frames = [await painter.next("event", "progress") for _ in range(6)]
            assert [f["type"] for f in painter_frames].count("progress") == 3
            assert painter_frames[-2]["kind"] == "step.committed" and "tile" in painter_frames[-2]["data"]
            assert all(
                f["preview"].startswith("data:image/jpeg;base64,") for f in painter_frames if f["type"] == "progress"
            )
            other_frames = [await other.next("event", "progress") for _ in range(3)]
            assert [f["type"] for f in other_frames] == ["event"] * 3  # no progress for others
            for frame in other_frames:
                assert "tile" not in frame["data"] and "prompt" not in frame["data"] and "cell" not in frame["data"]
            turn = other_frames[-1]["data"]["turn"]
            assert turn["player_id"] != host_user["id"] and "nonce" in turn  # the guest's own nonce


async def test_open_room_spectators_watch_the_tile_being_painted(database_url, tmp_path):
    async with live(database_url, tmp_path, mock_delay_ms=30) as (server, http):
        host, _ = await new_player(http)
        watcher, _ = await new_player(http)
        room = await start(host, await open_room(host))
        async with room_socket(server, watcher, room["id"]) as sock:
            await sock.frame()
            await step_and_settle(host, room["id"])
            frames = [await sock.next("event", "progress") for _ in range(6)]
            assert [f.get("kind", f["type"]) for f in frames] == [
                "step.started",
                "progress",
                "progress",
                "progress",
                "step.committed",
                "turn.changed",
            ]
            assert "nonce" not in frames[-1]["data"]["turn"]
            assert frames[4]["data"]["tile"]["url"].startswith("/blobs/")


def _tiny_receive_buffer(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


async def _commit_events(server, room_id, count: int) -> None:
    """Appends events one commit at a time and publishes each, as the app does."""
    services = server.services
    for number in range(count):
        async with services.db.acquire() as conn:
            async with conn.transaction():
                event = await event_log.append_event(conn, room_id, "test.filler", {"n": number, "pad": "x" * 2000})
        await services.publisher.publish_events(room_id, [event])
        await asyncio.sleep(0)  # let socket writers run between commits, as real traffic would


async def test_slow_consumer_is_closed_with_4008_and_resumes_without_loss(database_url, tmp_path):
    import uuid

    async with live(database_url, tmp_path, ws_send_queue=8, send_buffer=8192) as (server, http):
        host, _ = await new_player(http)
        room = await open_room(host)
        room_id = uuid.UUID(room["id"])
        slow = room_socket(server, host, room["id"], sock=_tiny_receive_buffer(server.port), max_queue=1)
        fast = room_socket(server, host, room["id"])
        async with slow as slow_sock, fast as fast_sock:
            first = await slow_sock.frame()
            assert (await fast_sock.frame())["type"] == "snapshot"
            # A reader that keeps up gets every event...
            fast_reader = asyncio.create_task(fast_sock.events(400))
            await _commit_events(server, room_id, 400)
            assert [e["seq"] for e in await fast_reader] == list(range(2, 402))
            # ...the slow one, which read nothing meanwhile, finds the rest cut off with 4008.
            seqs = []
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    frame = await slow_sock.frame()
                    if frame["type"] == "event":
                        seqs.append(frame["seq"])
            assert closed.value.rcvd.code == 4008
            assert seqs == list(range(first["room"]["seq"] + 1, first["room"]["seq"] + 1 + len(seqs)))
            assert len(seqs) < 400
        async with room_socket(server, host, room["id"], after=seqs[-1]) as resumed:
            rest = await resumed.events(401 - seqs[-1])
            assert [e["seq"] for e in rest] == list(range(seqs[-1] + 1, 402))


async def test_signing_out_closes_that_sessions_sockets_with_4001_and_disabling_closes_them_all(
    database_url, tmp_path, db
):
    async with live(database_url, tmp_path) as (server, http):
        host, host_user = await new_player(http)
        room = await open_room(host)
        elsewhere = browser(http)
        login = await elsewhere.post(
            "/api/auth/login", json={"email": host_user["email"], "password": "correct horse battery"}
        )
        assert login.status_code == 200
        async with room_socket(server, host, room["id"]) as here, room_socket(server, elsewhere, room["id"]) as there:
            await here.next("presence")
            await there.next("presence")
            assert (await host.post("/api/auth/logout")).status_code == 204
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await here.next("never")
            assert closed.value.rcvd.code == 4001
            await there.send({"type": "ping"})
            assert (await there.next("pong"))["type"] == "pong"  # the other session's socket stays
            await db.execute("UPDATE users SET disabled_at = now() WHERE id = $1", host_user["id"])
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await there.next("never")
            assert closed.value.rcvd.code == 4001


async def test_a_step_sent_over_a_socket_after_sign_out_is_refused_before_its_close_arrives(database_url, tmp_path, db):
    async with live(database_url, tmp_path) as (server, http):
        host, _ = await new_player(http)
        room = await start(host, await open_room(host))
        nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
        async with room_socket(server, host, room["id"]) as sock:
            await sock.next("presence")
            # The revocation's announcement is held back: the socket still believes it is signed in.
            await db.execute("ALTER TABLE sessions DISABLE TRIGGER sessions_revoked_announced")
            assert (await host.post("/api/auth/logout")).status_code == 204
            step = {"type": "step.submit", "idempotency_key": "after-logout", "turn_nonce": nonce}
            await sock.send({**step, "prompt": "a free tile", "direction": "right"})
            refusal = await sock.next("error")
            assert refusal["code"] == "not_signed_in"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await sock.next("never")
            assert closed.value.rcvd.code == 4001
        assert await db.fetchval("SELECT count(*) FROM steps") == 0
