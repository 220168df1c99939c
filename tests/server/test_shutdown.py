"""Graceful shutdown: running steps finish or are refunded; sockets are told to reconnect."""

import websockets

from tests.conftest import make_settings, running_app
from tests.generators import gate
from tests.play import new_player, open_room, start, submit
from tests.servers import LiveServer
from tests.sockets import room_socket


async def test_step_still_painting_at_shutdown_is_aborted_and_refunded(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, shutdown_grace_seconds=0.05)
    async with running_app(settings) as client:
        host, user = await new_player(client)
        room = await start(host, await open_room(host))
        hung = gate(client)
        assert (await submit(host, room["id"])).status_code == 202
        await hung.entered.wait()
    # The lifespan has ended: no lease left behind for a reaper, the credit is back.
    assert tuple(await db.fetchrow("SELECT status, reason FROM steps")) == ("aborted", "shutdown")
    assert await db.fetchval("SELECT count(*) FROM room_leases") == 0
    assert await db.fetchval("SELECT credits FROM users WHERE id = $1", user["id"]) == user["credits"]


async def test_step_that_finishes_within_the_grace_commits(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, shutdown_grace_seconds=30)
    async with running_app(settings) as client:
        host, _ = await new_player(client)
        room = await start(host, await open_room(host))
        hung = gate(client)
        await submit(host, room["id"])
        await hung.entered.wait()
        hung.gate.set()  # opens as shutdown begins; the grace lets it commit
    assert await db.fetchval("SELECT status FROM steps") == "committed"


async def test_sockets_are_closed_with_service_restart_at_shutdown(database_url, tmp_path):
    import httpx

    server = LiveServer(make_settings(database_url, tmp_path / "live"))
    await server.__aenter__()
    try:
        async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
            host, _ = await new_player(http)
            room = await open_room(host)
            async with room_socket(server, host, room["id"]) as sock:
                await sock.frame()
                await server.__aexit__(None, None, None)
                server = None
                try:
                    while True:
                        await sock.frame()
                except websockets.ConnectionClosed as closed:
                    assert closed.rcvd.code == 1012
    finally:
        if server is not None:
            await server.__aexit__(None, None, None)
