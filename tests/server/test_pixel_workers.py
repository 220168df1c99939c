"""The pixel worker processes: values in and out through shared memory, the function's own errors
raised at the call, a dead or abandoned worker replaced, callers beyond the pool's size served in
turn; on asyncio's own loop and on uvloop, which the server runs."""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import resource
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import numpy as np
import pytest
import uvloop

import engine
from engine.generators import _mock_paint
from server.play.pixel_workers import WorkerDied, WorkerPool

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def echo(*values: Any) -> tuple[Any, ...]:
    return values


def where(value: Any) -> tuple[Any, int]:
    return value, os.getpid()


def niceness_and_loaded(module: str) -> tuple[int, bool]:
    return os.nice(0), module in sys.modules


def page_faults_of_a_second_painting(tile_size: int) -> int:
    """The minor page faults of the mock's painting of a window, the second time it is painted."""
    window = np.zeros((2 * tile_size, 2 * tile_size, 4), dtype=np.uint8)
    _mock_paint.paint(window, "a lake", 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    _mock_paint.paint(window, "a lake", 1)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool(1)
    yield pool
    pool.close()


@pytest.fixture(params=list(LOOPS))
def run(request) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    def run(main: Callable[[], Awaitable[Any]]) -> Any:
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as runner:
            return runner.run(main())  # type: ignore[arg-type]

    return run


def test_arrays_and_bytes_come_back_equal_and_as_writable_as_they_went(run, pool):
    frozen = np.arange(512 * 512 * 4, dtype=np.uint32).reshape(512, 512, 4).astype(np.uint8)
    frozen.flags.writeable = False
    writable = np.linspace(0, 1, 3000, dtype=np.float32)
    large = os.urandom(300_000)  # out of band, like a PNG tile

    async def main():
        return await pool.run(echo, frozen, writable, large, b"small", {"n": 3})

    back = run(main)
    assert np.array_equal(back[0], frozen) and back[0].dtype == np.uint8 and not back[0].flags.writeable
    assert np.array_equal(back[1], writable) and back[1].flags.writeable
    assert back[2:] == (large, b"small", {"n": 3})


def test_engine_functions_give_the_same_bytes_in_a_worker(run, pool):
    rng = np.random.default_rng(1)
    tile = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)

    async def main():
        context = await pool.run(engine.build_context, {(-1, 0): tile}, (0, 0), 64)
        return context, await pool.run(engine.encode_png, context)

    context, png = run(main)
    assert np.array_equal(context, engine.build_context({(-1, 0): tile}, (0, 0), 64))
    assert png == engine.encode_png(context)


def test_an_answer_passed_back_is_read_where_it_is_not_copied(run):
    pool = WorkerPool(1)  # its own: no call has copied anything into its worker yet

    async def main():
        window = await pool.run(np.full, (512, 512, 4), 7, np.uint8)
        sums = await pool.run(np.sum, window), await pool.run(np.sum, window[100:300])
        (worker,) = pool._idle
        return window.flags.writeable, sums, worker.requests

    try:
        writable, sums, copied = run(main)
    finally:
        pool.close()
    assert writable and sums == (512 * 512 * 4 * 7, 200 * 512 * 4 * 7)
    assert copied is None  # no request arena was ever needed


def test_a_call_goes_to_the_idle_worker_whose_answer_it_passes_back(run):
    pool = WorkerPool(2)

    async def main():
        await asyncio.gather(pool.run(where, 1), pool.run(where, 2))  # both workers started, idle
        window, holder = await pool.run(where, np.ones((256, 256, 4), np.uint8))
        pool._idle.sort(key=lambda idle: idle.process.pid != holder)  # the other one is next in line
        return holder, await pool.run(os.getpid), await pool.run(where, window)

    try:
        holder, next_in_line, (_, answered_by) = run(main)
    finally:
        pool.close()
    assert next_in_line != holder and answered_by == holder


def a_count_then_the_output(out: np.ndarray | engine.Output) -> tuple[np.ndarray, np.ndarray]:
    filled = out if isinstance(out, np.ndarray) else np.empty(out.shape, np.uint8)
    filled[...] = 7
    return np.arange(100), filled


def test_an_output_comes_back_from_where_the_function_wrote_it(run, pool):
    async def main():
        count, filled = await pool.run(a_count_then_the_output, engine.Output((512, 512, 4)))
        (worker,) = pool._idle
        return count, filled, worker.lent.find(pickle.PickleBuffer(filled))

    count, filled, found = run(main)
    assert np.array_equal(count, np.arange(100)) and filled.shape == (512, 512, 4) and (filled == 7).all()
    assert found is not None and found[1] == 0  # at the front of its segment: written there, not copied


def answer_and_open_files(size: int, value: int) -> tuple[np.ndarray, int]:
    return np.full(size, value, np.uint8), len(os.listdir("/proc/self/fd"))


def test_an_answer_still_held_is_never_written_over_and_one_let_go_is_reused(run, pool):
    async def main():
        held, _ = await pool.run(answer_and_open_files, 3 << 20, 1)
        files = []
        for value in range(2, 40):
            answer, open_files = await pool.run(answer_and_open_files, 3 << 20, value)
            assert (answer == value).all()
            files.append(open_files)
            del answer
            gc.collect()  # the last view goes now: the loop gives the segment back with its next call
        return held, files

    held, files = run(main)
    assert (held == 1).all()  # 38 answers of its size class later
    # One more segment after the first answer (the one let go, now free), and no more after that.
    assert len(set(files[1:])) == 1


def test_the_loop_maps_a_segment_once_however_often_answers_are_lent_in_it(run):
    pool = WorkerPool(1)  # its own: segments counted from its first call

    async def main():
        for value in range(20):
            answer = await pool.run(np.full, 1 << 20, value, np.uint8)
            assert (answer == value).all()
            del answer
            gc.collect()  # given back with the next call, and lent again for its answer
        (worker,) = pool._idle
        return len(worker.lent._maps)

    try:
        mapped = run(main)
    finally:
        pool.close()
    assert mapped <= 2


def worker_before_and_after(run, pool: WorkerPool, between: Callable[[int], Awaitable[None]]) -> tuple[int, int]:
    """The pid of the worker that answers a call before `between(that pid)`, and of the one after."""

    async def main() -> tuple[int, int]:
        before = await pool.run(os.getpid)
        await between(before)
        return before, await pool.run(os.getpid)

    return run(main)


def test_the_functions_own_error_is_raised_at_the_call_and_the_worker_kept(run, pool):
    async def between(_pid: int) -> None:
        with pytest.raises(engine.InvalidImage):
            await pool.run(engine.decode_png, b"not a png")

    before, after = worker_before_and_after(run, pool, between)
    assert before == after != os.getpid()


def test_an_argument_that_cannot_travel_is_refused_before_any_worker_is_used(run, pool):
    async def between(_pid: int) -> None:
        with pytest.raises(AttributeError):  # a local function cannot be pickled by name
            await pool.run(echo, lambda: None)

    before, after = worker_before_and_after(run, pool, between)
    assert before == after


def test_a_worker_that_dies_mid_call_raises_and_is_replaced(run, pool):
    async def between(_pid: int) -> None:
        with pytest.raises(WorkerDied):
            await pool.run(os._exit, 3)

    before, after = worker_before_and_after(run, pool, between)
    assert before != after


def test_a_worker_that_ended_while_idle_is_replaced_before_the_next_call(run, pool):
    async def between(pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(os.waitpid, pid, 0)  # until it is gone: no call may find it half dead

    before, after = worker_before_and_after(run, pool, between)
    assert before != after


def test_a_cancelled_call_loses_its_worker_and_the_next_call_gets_a_fresh_one(run, pool):
    async def between(_pid: int) -> None:
        stuck = asyncio.create_task(pool.run(time.sleep, 600))
        await asyncio.sleep(0)  # the call is sent before it first waits
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck

    before, after = worker_before_and_after(run, pool, between)  # not behind the 600 s: that worker is gone
    assert before != after


def test_the_pool_tells_how_long_its_oldest_caller_has_waited(run, pool):
    async def main():
        stuck = asyncio.create_task(pool.run(time.sleep, 600))
        await asyncio.sleep(0)  # the call is sent before it first waits
        queued = asyncio.create_task(pool.run(os.getpid))
        await asyncio.sleep(0)  # ... and this one waits behind it
        waiting = pool.oldest_wait()
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        await queued  # on a fresh worker
        return waiting, pool.oldest_wait()

    waiting, after = run(main)
    assert waiting > 0 and after == 0


def test_callers_beyond_the_pools_size_wait_their_turn(run, pool):
    async def main():
        return await asyncio.gather(*(pool.run(where, index) for index in range(6)))

    answers = run(main)
    assert [value for value, _ in answers] == list(range(6))
    assert len({pid for _, pid in answers}) == 1  # one worker, as the pool's size says


@pytest.mark.parametrize("preload", [(), ("wave",)])
def test_started_workers_wait_below_the_servers_priority_with_their_modules_loaded(run, preload):
    pool = WorkerPool(1, niceness=5, preload=preload)
    try:
        pool.start()
        (started,) = pool._idle  # running before any call

        async def main():
            return await pool.run(niceness_and_loaded, "wave"), await pool.run(os.getpid)

        (niceness, loaded), pid = run(main)
    finally:
        pool.close()
    assert pid == started.process.pid
    assert niceness == min(19, os.nice(0) + 5)
    assert loaded == bool(preload)  # nothing else in the worker imports the stdlib's `wave`


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allocator setting is glibc's")
def test_a_worker_keeps_freed_memory_rather_than_fault_it_back_in_on_every_call(run):
    pool = WorkerPool(1)
    try:

        async def main():
            return await pool.run(page_faults_of_a_second_painting, 256)

        faults = run(main)
    finally:
        pool.close()
    # With glibc's own thresholds the painting's images come back as fresh pages: 736 here.
    assert faults < 50
