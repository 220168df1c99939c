"""Several instances on one database and one real Redis: no sticky sessions, nothing lost."""

import asyncio
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from server.http.sessions import SESSION_COOKIE
from tests.conftest import make_settings
from tests.play import join, new_player, open_room, settle, start, submit
from tests.servers import LiveServer, RedisServer, Served
from tests.sockets import room_socket

PASSWORD = "correct horse battery"


@asynccontextmanager
async def client_of(server, token: str | None = None):
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=30) as http:
        if token:
            http.cookies.set(SESSION_COOKIE, token)
        yield http


async def test_two_processes_share_rooms_and_start_one_step_per_turn(database_url, tmp_path, redis_server, db):
    shared = dict(DATABASE_URL=database_url, REDIS_URL=redis_server.url, BLOB_URL=f"file://{tmp_path}/blobs")
    async with Served(tmp_path / "a", **shared) as a, Served(tmp_path / "b", **shared) as b:
        async with client_of(a) as on_a:
            host, _ = await new_player(on_a)
            guest, _ = await new_player(on_a)
            room = await open_room(host)
            token = host.cookies[SESSION_COOKIE]
            async with client_of(b, token) as host_on_b:
                async with room_socket(b, host_on_b, room["id"]) as sock:
                    assert (await sock.frame())["type"] == "snapshot"
                    await join(guest, room)  # made on A, seen on B
                    assert (await sock.next("event"))["kind"] == "member.joined"
                    room = await start(host_on_b, room)  # made on B, answered by B
                    nonce = room["turn"]["nonce"]
                    body = {"turn_nonce": nonce, "prompt": "both at once", "direction": "up"}
                    answers = await asyncio.gather(
                        host.post(f"/api/rooms/{room['id']}/steps", json=body, headers={"Idempotency-Key": "a"}),
                        host_on_b.post(f"/api/rooms/{room['id']}/steps", json=body, headers={"Idempotency-Key": "b"}),
                    )
                    assert sorted(r.status_code for r in answers) == [202, 409]
                    kinds = [(await sock.next("event"))["kind"] for _ in range(5)]
                    assert kinds == ["room.started", "turn.changed", "step.started", "step.committed", "turn.changed"]
    assert await db.fetchval("SELECT count(*) FROM steps") == 1


async def test_redis_killed_and_restarted_mid_game_loses_nothing(database_url, tmp_path, redis_server):
    port = redis_server.port
    shared = dict(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        BLOB_URL=f"file://{tmp_path}/blobs",
        BUS_RESYNC_SECONDS=3600,
    )
    async with Served(tmp_path / "a", **shared) as a, Served(tmp_path / "b", **shared) as b:
        async with client_of(a) as on_a:
            host, _ = await new_player(on_a)
            room = await start(host, await open_room(host))
            async with client_of(b, host.cookies[SESSION_COOKIE]) as on_b:
                async with room_socket(b, on_b, room["id"]) as sock:
                    seen = (await sock.frame())["room"]["seq"]
                    await redis_server.kill()
                    ready = await host.get("/readyz")
                    assert ready.status_code == 503 and ready.json()["checks"]["bus"] == "down"
                    # HTTP keeps working without the bus: a step commits on A meanwhile.
                    response = await submit(host, room["id"])
                    assert response.status_code == 202
                    step_id = response.json()["step"]["id"]
                    restarted = await RedisServer(port).start()
                    try:
                        # B resubscribes, resyncs from Postgres and delivers what it missed, in order.
                        missed = await sock.events(3)
                        assert [e["seq"] for e in missed] == [seen + 1, seen + 2, seen + 3]
                        assert missed[1]["data"]["step_id"] == step_id
                        assert (await host.get("/readyz")).status_code == 200
                    finally:
                        await restarted.kill()


async def _two_live_instances(stack, database_url, tmp_path, redis_url, **overrides):
    servers = []
    for name in ("a", "b"):
        settings = make_settings(
            database_url, tmp_path / name, redis_url=redis_url, blob_url=f"file://{tmp_path}/blobs", **overrides
        )
        servers.append(await stack.enter_async_context(LiveServer(settings)))
    for server in servers:
        await server.services.bus.connected.wait()
    return servers


def _drop_next_events_message(server) -> asyncio.Event:
    """Makes the instance's bus lose its next published events message, as Redis may."""
    bus = server.services.bus
    original, dropped = bus.publish, asyncio.Event()

    async def lossy(topic, message):
        if not dropped.is_set() and b'"type":"events"' in message:
            dropped.set()
            return
        await original(topic, message)

    bus.publish = lossy
    return dropped


async def test_a_dropped_bus_message_is_fetched_from_postgres_before_anything_newer(
    database_url, tmp_path, redis_server
):
    async with AsyncExitStack() as stack:
        a, b = await _two_live_instances(stack, database_url, tmp_path, redis_server.url, bus_resync_seconds=3600)
        http = await stack.enter_async_context(client_of(a))
        http.app = a.app
        host, _ = await new_player(http)
        room = await start(host, await open_room(host))
        async with client_of(b, host.cookies[SESSION_COOKIE]) as on_b:
            async with room_socket(b, on_b, room["id"]) as sock:
                seen = (await sock.frame())["room"]["seq"]
                dropped = _drop_next_events_message(a)
                response = await submit(host, room["id"])  # its step.started is lost on the way
                assert response.status_code == 202 and dropped.is_set()
                await settle(host, room["id"])
                events = await sock.events(3)
                assert [e["seq"] for e in events] == [seen + 1, seen + 2, seen + 3]
                assert [e["kind"] for e in events] == ["step.started", "step.committed", "turn.changed"]


async def test_a_dropped_last_message_is_recovered_by_the_resync(database_url, tmp_path, redis_server):
    async with AsyncExitStack() as stack:
        a, b = await _two_live_instances(stack, database_url, tmp_path, redis_server.url, bus_resync_seconds=0.2)
        http = await stack.enter_async_context(client_of(a))
        http.app = a.app
        host, _ = await new_player(http)
        room = await open_room(host)
        async with client_of(b, host.cookies[SESSION_COOKIE]) as on_b:
            async with room_socket(b, on_b, room["id"]) as sock:
                seen = (await sock.frame())["room"]["seq"]
                dropped = _drop_next_events_message(a)
                guest, _ = await new_player(http)
                await join(guest, room)  # nothing follows it: only the resync can tell
                assert dropped.is_set()
                event = await sock.next("event")
                assert event["seq"] == seen + 1 and event["kind"] == "member.joined"


async def test_presence_spans_instances(database_url, tmp_path, redis_server):
    async with AsyncExitStack() as stack:
        a, b = await _two_live_instances(stack, database_url, tmp_path, redis_server.url)
        http = await stack.enter_async_context(client_of(a))
        host, host_user = await new_player(http)
        guest, guest_user = await new_player(http)
        room = await open_room(host)
        await join(guest, room)
        async with room_socket(a, host, room["id"]) as on_a:
            await on_a.next("presence")
            async with client_of(b, guest.cookies[SESSION_COOKIE]) as guest_b:
                async with room_socket(b, guest_b, room["id"]):
                    while True:
                        presence = await on_a.next("presence")
                        if len(presence["players_online"]) == 2:
                            break
                    assert presence["players_online"] == sorted([host_user["id"], guest_user["id"]])
