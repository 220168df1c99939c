"""The shared reveal (docs/protocol.md, "Presenting the reveal"): the host of a finished room
steps every socket of it, on every instance, through the timelapse; late joiners land on the frame."""

from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from tests.conftest import make_settings
from tests.play import join, new_player, open_room, start, step_and_settle
from tests.servers import LiveServer
from tests.sockets import room_socket


@asynccontextmanager
async def _client(server):
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=30) as http:
        http.app = server.app
        yield http


async def _started_room_of_two_tiles(http: httpx.AsyncClient):
    """Host and guest in a started room that finishes once each has painted a tile."""
    host, _ = await new_player(http)
    guest, _ = await new_player(http)
    room = await open_room(host, max_steps=2)
    await join(guest, room)
    await start(host, room)
    return host, guest, room


async def _refusal(sock, body: dict) -> dict:
    await sock.send({"type": "present", **body})
    return await sock.next("error")


def _drop_next_present_message(server) -> None:
    """Makes the instance's bus lose its next published present message, as Redis may."""
    bus = server.services.bus
    original = bus.publish
    dropped = False

    async def lossy(topic, message):
        nonlocal dropped
        if not dropped and b'"type":"present"' in message:
            dropped = True
            return
        await original(topic, message)

    bus.publish = lossy


async def test_the_hosts_frames_reach_every_instance_and_late_joiners_and_nobody_else_may_present(
    database_url, tmp_path, redis_server
):
    async with AsyncExitStack() as stack:
        servers = []
        for name in ("a", "b"):
            settings = make_settings(database_url, tmp_path / name, redis_url=redis_server.url, bus_resync_seconds=0.2)
            servers.append(await stack.enter_async_context(LiveServer(settings)))
        a, b = servers
        for server in servers:
            await server.services.bus.connected.wait()
        http = await stack.enter_async_context(_client(a))
        host, guest, room = await _started_room_of_two_tiles(http)
        watcher, _ = await new_player(http)  # a spectator: not a member
        async with room_socket(a, host, room["id"]) as on_a, room_socket(b, watcher, room["id"]) as on_b:
            assert (await _refusal(on_a, {"frame": 0}))["code"] == "room_not_finished"
            await step_and_settle(host, room["id"], "right")
            await step_and_settle(guest, room["id"], "down")
            await on_a.next_event("room.finished")
            for bad in ({"frame": 3}, {"frame": -1}, {"frame": "1"}, {"frame": True}, {"frame": 1.0}, {}):
                refusal = await _refusal(on_a, bad)
                assert (refusal["code"], refusal["field"]) == ("invalid_field", "frame"), bad
            assert (await _refusal(on_b, {"frame": 1}))["code"] == "not_host"

            # Refused frames presented nothing: the first frame either socket hears is the host's.
            await on_a.send({"type": "present", "frame": 1})
            for sock in (on_a, on_b):
                assert await sock.next("present") == {"type": "present", "frame": 1, "of": 2}

            # A late joiner on the other instance: its snapshot, then the frame, then presence.
            async with room_socket(b, guest, room["id"]) as late:
                assert (await late.frame())["type"] == "snapshot"
                assert await late.frame() == {"type": "present", "frame": 1, "of": 2}

                # The bus loses the next frame: Postgres has it, and the resync brings it.
                _drop_next_present_message(a)
                await on_a.send({"type": "present", "frame": 0})
                for sock in (on_a, on_b, late):
                    assert await sock.next("present") == {"type": "present", "frame": 0, "of": 2}

            await on_a.send({"type": "present", "frame": None})
            for sock in (on_a, on_b):
                assert await sock.next("present") == {"type": "present", "frame": None, "of": 2}
        # Once stopped, a socket that opens (a page that was away at the end) learns so.
        async with room_socket(b, watcher, room["id"]) as after:
            assert (await after.frame())["type"] == "snapshot"
            assert await after.frame() == {"type": "present", "frame": None, "of": 2}
        # A room never presented sends no frame: the snapshot, then presence.
        other_room = await open_room(host)
        async with room_socket(b, host, other_room["id"]) as never:
            assert [(await never.frame())["type"] for _ in range(2)] == ["snapshot", "presence"]


async def test_a_host_who_floods_the_reveal_is_rate_limited(database_url, tmp_path):
    settings = make_settings(database_url, tmp_path / "one", present_frames_per_minute=2)
    async with LiveServer(settings) as server, _client(server) as http:
        host, guest, room = await _started_room_of_two_tiles(http)
        await step_and_settle(host, room["id"])
        await step_and_settle(guest, room["id"], "down")
        async with room_socket(server, host, room["id"]) as sock:
            for shown in (0, 1):
                await sock.send({"type": "present", "frame": shown})
                assert (await sock.next("present"))["frame"] == shown
            refusal = await _refusal(sock, {"frame": 2})
            assert refusal["code"] == "rate_limited"
