"""Overload: a saturated instance refuses new steps `503 busy` rather than slow every socket;
progress is coalesced per step; the Redis bus pipelines what waits in its outbox."""

from __future__ import annotations

import asyncio
import json
import uuid

import numpy as np

from server.play import pixels
from server.play.publisher import Publisher
from storage.bus import RedisBus
from storage.steps import Step, StepStatus
from tests.play import new_player, open_room, settle, start, submit


async def test_a_saturated_instance_refuses_new_steps_busy_with_retry_after(client, db):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    load = client.app.state.services.load
    load.hold = 0.3
    load.pool_wait_bound = 0.25  # the tests' settings leave the guard off
    load.observe_pool_wait(load.pool_wait_bound + 10)  # as if a connection took that long
    refused = await submit(host, room["id"])
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "busy"
    assert int(refused.headers["Retry-After"]) >= 1
    assert await db.fetchval("SELECT count(*) FROM steps") == 0
    assert await db.fetchval("SELECT count(*) FROM credit_ledger WHERE kind = 'step_debit'") == 0
    await asyncio.sleep(0.4)
    accepted = await submit(host, room["id"])
    assert accepted.status_code == 202, accepted.text
    await settle(host, room["id"])


async def test_a_steps_pixel_work_and_the_generators_run_in_the_pixel_worker_processes(client, monkeypatch):
    # The mock's painting shares the workers of the seam correction and the PNG encode: none of it
    # runs on the event loop's process, where it would wait on the loop for the GIL.
    ran: list[str] = []
    workers = pixels._processes

    class Recorded:
        async def run(self, function, *args, **kwargs):
            ran.append(function.__name__)
            return await workers.run(function, *args, **kwargs)

    monkeypatch.setattr(pixels, "_processes", Recorded())
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    assert (await submit(host, room["id"])).status_code == 202
    await settle(host, room["id"])
    assert {"build_context", "paint", "finish_tile"} <= set(ran), ran


async def test_a_backlog_of_pixel_work_refuses_new_steps_busy(client, monkeypatch):
    # Pixel work runs in other processes: its backlog slows neither the loop nor the pool.
    class Backlogged:
        def oldest_wait(self) -> float:
            return 5.0

    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    load = client.app.state.services.load
    load.pixel_wait_bound = 1.0  # the tests' settings leave the guard off
    load.observe_pixel_wait()
    assert not load.busy()
    monkeypatch.setattr(pixels, "_processes", Backlogged())
    load.observe_pixel_wait()
    refused = await submit(host, room["id"])
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "busy"


async def test_the_step_route_documents_its_503(client):
    operation = (await client.get("/openapi.json")).json()["paths"]["/api/rooms/{room_id}/steps"]["post"]
    assert "Retry-After" in operation["responses"]["503"]["headers"]


class _Recorder:
    def __init__(self, listened: bool = True) -> None:
        self.messages: list[tuple[str, dict]] = []
        self._listened = listened

    def listened(self, topic: str) -> bool:
        return self._listened

    async def publish(self, topic: str, message: bytes) -> None:
        self.messages.append((topic, json.loads(message)))


def _step() -> Step:
    return Step(
        id=uuid.uuid4(),
        room_id=uuid.uuid4(),
        user_id=1,
        idempotency_key="k",
        request_hash=b"h",
        status=StepStatus.RUNNING,
        reason=None,
        turn_number=1,
        cell=(0, 0),
        prompt="p",
        direction="right",
        fencing_token=1,
        seed=1,
        cost=1,
        seam_score=None,
        created_at=None,  # type: ignore[arg-type]
        finished_at=None,
    )


async def test_progress_reported_in_a_burst_is_sent_once_as_the_latest():
    bus = _Recorder()
    publisher = Publisher(bus)  # type: ignore[arg-type]
    step = _step()
    for fraction in (0.25, 0.5, 0.75):
        await publisher.publish_progress(step, fraction, None)
    await publisher.settle(step.id)
    assert [body["frame"]["fraction"] for _, body in bus.messages] == [0.75]
    await publisher.publish_progress(step, 1.0, None)
    await publisher.settle(step.id)
    assert [body["frame"]["fraction"] for _, body in bus.messages] == [0.75, 1.0]


async def test_a_steps_last_progress_frame_does_not_wait_for_the_pixel_workers(monkeypatch):
    # A step's outcome goes out after its last progress frame (settle): a preview queued behind
    # other steps' pixel work would hold the feed as long as that queue is.
    class Held:
        async def run(self, function, *args, **kwargs):
            await asyncio.Event().wait()  # every worker busy for good

    monkeypatch.setattr(pixels, "_processes", Held())
    bus = _Recorder()
    publisher = Publisher(bus)  # type: ignore[arg-type]
    step = _step()
    await publisher.publish_progress(step, 0.5, np.zeros((64, 64, 3), dtype=np.uint8))
    await asyncio.wait_for(publisher.settle(step.id), 10)
    assert bus.messages[0][1]["frame"]["preview"].startswith("data:image/jpeg;base64,")


async def test_a_room_nobody_watches_gets_no_progress():
    bus = _Recorder(listened=False)
    publisher = Publisher(bus)  # type: ignore[arg-type]
    step = _step()
    await publisher.publish_progress(step, 0.5, None)
    await publisher.settle(step.id)
    assert bus.messages == []


async def test_the_redis_bus_delivers_a_pipelined_burst_in_order(redis_server):
    received: list[bytes] = []
    done = asyncio.Event()

    async def on_message(topic: str, message: bytes) -> None:
        received.append(message)
        if len(received) == 300:
            done.set()

    async with (
        RedisBus(redis_server.url, prefix="test") as listener,
        RedisBus(redis_server.url, prefix="test") as sender,
    ):
        listener.on_message = on_message
        await asyncio.wait_for(listener.connected.wait(), 10)
        await listener.subscribe("room")
        await asyncio.sleep(0.1)
        for number in range(300):
            await sender.publish("room", str(number).encode())
        await asyncio.wait_for(done.wait(), 10)
    assert received == [str(number).encode() for number in range(300)]
    # Its PUBLISH replies told the sender who listens: the room's topic had a subscriber then.
    assert sender.listened("room") and sender.listened("never published")


async def test_a_redis_topic_that_reached_nobody_is_not_listened(redis_server):
    async with RedisBus(redis_server.url, prefix="test") as bus:
        await bus.publish("empty", b"x")
        for _ in range(100):
            if not bus.listened("empty"):
                break
            await asyncio.sleep(0.02)
        assert not bus.listened("empty")
