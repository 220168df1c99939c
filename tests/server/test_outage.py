"""The database out of reach, for one app only: its pool goes through a TCP proxy to the session's
Postgres that the test cuts (every connection dropped, new ones refused), stalls or restores.

HTTP answers `503 unavailable` with `Retry-After`, sockets get `{"type": "error", "code":
"unavailable"}`, and nothing leaves a trace in the log; the hub forgets a channel that failed to
open, and fills a room's gap in a task of the room's own, holding up no other room."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
import websockets

from server.live.hub import Hub
from server.play.publisher import encode_events
from storage import Database, MemoryBus, Unavailable, rooms
from storage import events as event_log
from storage.events import Event
from tests.conftest import make_settings, running_app
from tests.generators import gate
from tests.play import new_player, open_room, start, submit
from tests.servers import LiveServer
from tests.sockets import room_socket


class CuttableProxy:
    """127.0.0.1:port -> the embedded Postgres's unix socket, with the wire in the test's hands."""

    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        self.socket_path = f"{parse_qs(parts.query)['host'][0]}/.s.PGSQL.5432"
        self.database = parts.path.lstrip("/")
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.links: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}?sslmode=disable"

    async def start(self) -> CuttableProxy:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        """Postgres is gone: open connections drop, new ones are refused."""
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.links):
            writer.transport.abort()

    async def _link(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        pg_reader, pg_writer = await asyncio.open_unix_connection(self.socket_path)
        self.links |= {client_writer, pg_writer}
        try:
            await asyncio.gather(self._pump(client_reader, pg_writer), self._pump(pg_reader, client_writer))
        finally:
            for writer in (client_writer, pg_writer):
                self.links.discard(writer)
                writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self.flowing.wait()  # stalled: bytes wait here, as on a hung network
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


class Recorder:
    """Stands in for a socket's Connection: what the hub offered it."""

    def __init__(self, room_id: UUID, user_id: int = 1) -> None:
        self.room_id, self.user_id, self.member, self.session = room_id, user_id, True, b""
        self.events: list[int] = []
        self.frames: list[str] = []

    def offer_event(self, seq: int, frame: str) -> None:
        self.events.append(seq)

    def offer(self, frame: str) -> None:
        self.frames.append(frame)

    async def close(self, code: int) -> None:
        pass


@pytest.fixture
async def proxy(database_url):
    proxy = await CuttableProxy(database_url).start()
    yield proxy
    await proxy.cut()


async def _room(client, db) -> tuple:
    host, _ = await new_player(client)
    room_id = UUID((await open_room(host))["id"])
    return await rooms.room_by_id(db, room_id)


async def test_a_channel_that_failed_to_open_is_forgotten_and_opened_by_the_next_socket(client, db, proxy):
    room = await _room(client, db)
    async with Database(proxy.dsn) as hub_db, MemoryBus() as bus, Hub(hub_db, bus, resync_seconds=3600) as hub:
        first = Recorder(room.id)
        await proxy.cut()
        with pytest.raises(Unavailable):
            await hub.attach(first, room)  # type: ignore[arg-type]
        await hub.detach(first)  # type: ignore[arg-type]
        assert room.id not in hub.channels and not bus.listened(str(room.id))

        await proxy.start()
        async with db.transaction():
            moved = await event_log.append_event(db, room.id, "test.filler", {})
        second = Recorder(room.id)
        await hub.attach(second, room)  # type: ignore[arg-type]
        channel = hub.channels[room.id]
        assert channel.opened and channel.last_seq == moved.seq and bus.listened(str(room.id))
        await hub.detach(second)  # type: ignore[arg-type]
        assert not hub.channels


async def test_a_gap_is_filled_by_its_rooms_own_task_and_holds_up_no_other_room(client, db, proxy):
    stalled, other = await _room(client, db), await _room(client, db)
    async with Database(proxy.dsn) as hub_db, MemoryBus() as bus, Hub(hub_db, bus, resync_seconds=3600) as hub:
        in_stalled, in_other = Recorder(stalled.id), Recorder(other.id)
        await hub.attach(in_stalled, stalled)  # type: ignore[arg-type]
        await hub.attach(in_other, other)  # type: ignore[arg-type]
        async with db.transaction():
            lost = await event_log.append_event(db, stalled.id, "test.filler", {"n": 1})
            late = await event_log.append_event(db, stalled.id, "test.filler", {"n": 2})
        proxy.flowing.clear()  # the gap's query will hang until the wire flows again
        # The bus lost `lost`: `late` arrives past a gap. Delivery returns without waiting on it...
        await asyncio.wait_for(bus.publish(str(stalled.id), encode_events([late])), timeout=5)
        filler = hub.channels[stalled.id].filler
        assert filler is not None and not filler.done()
        # ...and another room's event goes out at once, while that query still hangs.
        now = datetime.now(UTC)
        news = Event(other.id, other.seq + 1, "test.filler", {}, now)
        await bus.publish(str(other.id), encode_events([news]))
        assert in_other.events == [news.seq] and in_stalled.events == []
        proxy.flowing.set()
        await filler
        assert in_stalled.events == [lost.seq, late.seq]


async def test_while_the_database_is_down_http_says_503_and_sockets_say_unavailable(database_url, tmp_path, proxy):
    settings = make_settings(proxy.dsn, tmp_path / "live", bus_resync_seconds=0.2)
    caught = _Collect()
    async with LiveServer(settings) as server:
        uvicorn_errors = logging.getLogger("uvicorn.error")
        uvicorn_errors.addHandler(caught)
        logging.getLogger().addHandler(caught)
        try:
            async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
                http.app = server.app
                host, _ = await new_player(http)
                room = await open_room(host)
                async with room_socket(server, host, room["id"]) as sock:
                    assert (await sock.frame())["type"] == "snapshot"
                    await sock.next("presence")  # after the socket's own use of the database
                    await proxy.cut()
                    down = await host.get(f"/api/rooms/{room['id']}")
                    assert down.status_code == 503 and down.headers["retry-after"] == "5"
                    assert down.json()["error"]["code"] == "unavailable"
                    told = await sock.next("error")  # the hub's resync found the database gone
                    assert told["code"] == "unavailable"
                    submit = {"type": "step.submit", "idempotency_key": "k" * 16, "turn_nonce": "n", "prompt": "p"}
                    await sock.send({**submit, "direction": "right"})
                    assert (await sock.next("error"))["code"] == "unavailable"
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        async with room_socket(server, host, room["id"]) as late:
                            assert (await late.frame())["code"] == "unavailable"
                            await late.frame()
                    assert closed.value.rcvd.code == 1013
                    await proxy.start()
                    assert (await host.get(f"/api/rooms/{room['id']}")).status_code == 200
        finally:
            uvicorn_errors.removeHandler(caught)
            logging.getLogger().removeHandler(caught)
    gc.collect()  # an unretrieved task exception is logged when the task is collected
    traces = [r for r in caught.records if r.exc_info or "never retrieved" in r.getMessage()]
    assert not traces, [r.getMessage() for r in traces]


@pytest.mark.breaks_invariants  # the step stays running until its lease expires (no reaper here)
async def test_a_step_that_finds_the_database_gone_at_its_end_leaves_no_unretrieved_exception(
    database_url, tmp_path, proxy, caplog
):
    async with running_app(make_settings(proxy.dsn, tmp_path / "data")) as client:
        host, _ = await new_player(client)
        room = await start(host, await open_room(host))
        gated = gate(client)
        response = await submit(host, room["id"])
        assert response.status_code == 202, response.text
        await gated.entered.wait()
        (task,) = [t for t in asyncio.all_tasks() if t.get_name() == f"step-{response.json()['step']['id']}"]
        await proxy.cut()
        gated.gate.set()  # its commit, then its abort, find no database
        await asyncio.wait([task])  # waits without retrieving the outcome, as nobody does in the app
        del task
        await proxy.start()
    gc.collect()  # an unretrieved task exception is logged when the task is collected
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert any("ended without an outcome" in r.getMessage() for r in caplog.records)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
