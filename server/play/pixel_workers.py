"""Pure pixel functions in worker processes, driven by the event loop itself.

Why processes: numpy, Pillow and zlib release the GIL around each large operation and take it back
after, so a pixel thread beside a busy event loop waits up to the interpreter's switch interval
(5 ms) at every one of its hundreds of operations. bench/live.py saturated its one pixel thread at
~30 steps/s (T=256) with the thread's jobs taking ~33 ms of wall time for ~15 ms of work, and two
threads did no better. Measured in isolation (a thread spinning pure Python beside the work, T=256):
a step's pixel work took 17 ms alone and 877 ms beside the spinner on a thread; 61 ms in a
`concurrent.futures` process pool, whose feeder and result threads wait on the GIL in the same way.
So: no helper threads at all. A call pickles its function and arguments (protocol 5) on the loop;
arrays and large bytes travel out of band through shared memory (server/play/pixel_transport.py:
arguments copied into an arena, answers mapped where the worker wrote them and passed back by
name), so only a small header crosses the socket; the loop watches the socket with add_reader. The
worker's answer keeps each buffer's read-only flag, so a frozen tile comes back frozen. In
bench/live.py (T=256, 100 rooms, 1,000 watchers) the workers raised the steps/s at saturation by
10-15% over the thread in the same run and stayed below 80% busy. Copying every answer out and
back in cost the loop ~0.14 ms per MiB each way, 3 ms a step at T=512; a step's chain of calls
(context, a pass through the worker, the tile cut) at T=512 costs the loop 1.3 ms with answers
mapped and passed back by name against 3.3 ms with copies, the worker 2.8 against 2.0.

A function must be importable by name (a module-level function, or a partial of one) and must not
keep or change its arguments: it runs in another process, on copies or on the loop's own views of
an earlier answer (which the caller, in turn, must not change while the call runs). A call whose
caller is cancelled, or whose worker dies, loses the worker (it is killed); the next call starts a
fresh one.

Workers run `niceness` steps below their server: pixel work is throughput, the loop's frames are
latency, so when the cores are short the scheduler gives them to the loop first (a step waits
longer, the feed does not). They start with the server and import what they will run (`preload`), so
neither the first steps nor the live sockets of a fresh instance share the cores with a start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import os
import pickle
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from server.play.pixel_transport import Arena, Layout, Lent, Segments, dump, receive_arena, views, write_out

__all__ = ["WorkerDied", "WorkerPool", "keep_freed_memory"]

T = TypeVar("T")


class WorkerDied(RuntimeError):
    """The worker process ended (killed, crashed or out of memory) before it answered."""


class _Worker:
    """One worker process and its socket; one call at a time."""

    def __init__(self, niceness: int, preload: tuple[str, ...]) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.play.pixel_workers", str(theirs.fileno()), str(niceness), *preload],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.requests: Arena | None = None  # ours: the arguments we copy
        self.lent = Lent()  # theirs: the segments their answers are in

    async def call(self, header: bytes, buffers: list[pickle.PickleBuffer]) -> tuple[str, Any, float]:
        """(outcome, value, the worker's busy seconds): ("returned", result) or ("raised", exception)."""
        found = [self.lent.find(buffer) for buffer in buffers]
        self.requests, copied = write_out(
            self.conn, self.requests, [b for b, at in zip(buffers, found, strict=True) if at is None], self.process.pid
        )
        layout = _merged(buffers, found, copied)
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[tuple[Any, Layout, float, list[int]]] = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, self._on_readable, answered)
        # The loop's reader made the socket non-blocking; a message is read whole once it starts
        # (the worker writes each in one go, and they are small: the data are in shared memory).
        os.set_blocking(fd, True)
        try:
            self.conn.send_bytes(pickle.dumps(("call", header, layout, self.lent.released())))
            payload, layout, seconds, closed = await answered
        finally:
            loop.remove_reader(fd)
        self.lent.unmap(closed)
        segment = layout[0][0] if layout else None
        maps: dict[int | None, Any] = {} if segment is None else {segment: self.lent.answer(segment)}
        outcome, value = pickle.loads(payload, buffers=views(layout, maps))
        return outcome, value, seconds

    def _on_readable(self, answered: asyncio.Future) -> None:
        try:
            while not answered.done() and self.conn.poll():
                message = pickle.loads(self.conn.recv_bytes())
                if message[0] == "segment":
                    self.lent.map(self.conn, message[1], message[2])
                else:
                    answered.set_result(message[1:])
        except (EOFError, OSError) as exc:
            if not answered.done():
                answered.set_exception(WorkerDied(f"pixel worker {self.process.pid} ended: {exc!r}"))

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.close()

    def close(self) -> None:
        self.conn.close()
        if self.requests is not None:
            self.requests.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def _merged(buffers: list[pickle.PickleBuffer], found: list[tuple[int, int] | None], copied: Layout) -> Layout:
    """The layout of all the buffers, in order: the copied ones where write_out put them, the
    others where they already are, in a segment of the worker's."""
    written = iter(copied)
    return [
        next(written) if at is None else (at[0], at[1], buffer.raw().nbytes, buffer.raw().readonly)
        for buffer, at in zip(buffers, found, strict=True)
    ]


class WorkerPool:
    """Up to `size` worker processes, started by start() or on first use, and shared by every event
    loop of the process (the tests run many); callers beyond `size` wait their turn in order."""

    def __init__(self, size: int, *, niceness: int = 0, preload: tuple[str, ...] = ()) -> None:
        self.size = size
        self.niceness = niceness
        self.preload = preload
        self.busy_seconds = 0.0  # what the workers spent in calls, all together
        self._idle: list[_Worker] = []
        self._started = 0
        self._waiting: deque[tuple[float, asyncio.Future[_Worker]]] = deque()  # (since, waiter)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        header, buffers = dump((function, args, kwargs))
        worker = await self._take(buffers)
        try:
            outcome, value, seconds = await worker.call(header, buffers)
        except BaseException:
            # Cancelled mid-call, or the worker is gone: it cannot be trusted with another call.
            self._started -= 1
            worker.kill()
            self._wake_next()
            raise
        self.busy_seconds += seconds
        self._give(worker)
        if outcome == "raised":
            raise value
        return value

    def start(self) -> None:
        """Starts the workers not yet running, idle until called."""
        while self._started < self.size:
            self._started += 1
            self._idle.append(self._new_worker())

    def _new_worker(self) -> _Worker:
        return _Worker(self.niceness, self.preload)

    async def _take(self, buffers: list[pickle.PickleBuffer]) -> _Worker:
        """An idle worker (the one whose answers the call passes back, if idle: those need no
        copy), a new one, or the next to be given back."""
        while self._idle:
            # Among equals the one given back last, as a stack would: its memory is the warmest.
            worker = max(reversed(self._idle), key=lambda idle: sum(idle.lent.find(b) is not None for b in buffers))
            self._idle.remove(worker)
            if worker.process.poll() is None:
                return worker
            self._started -= 1  # it ended while idle (killed, out of memory): start another
            worker.close()
        if self._started < self.size:
            self._started += 1
            return self._new_worker()
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiting.append((time.monotonic(), waiter))
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over just as the caller gave up
                self._give(waiter.result())
            raise

    def oldest_wait(self) -> float:
        """How long the longest-waiting caller has waited for a worker, in seconds (0: none waits)."""
        for since, waiter in self._waiting:
            if not waiter.done():
                return time.monotonic() - since
        return 0.0

    def _next_waiter(self) -> asyncio.Future[_Worker] | None:
        """The longest-waiting caller still waiting (gone ones are dropped), or None."""
        while self._waiting:
            _, waiter = self._waiting.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                return waiter
        return None

    def _give(self, worker: _Worker) -> None:
        waiter = self._next_waiter()
        if waiter is None:
            self._idle.append(worker)
        else:
            waiter.set_result(worker)

    def _wake_next(self) -> None:
        """A worker was lost: the next waiter, if any, starts a new one."""
        waiter = self._next_waiter()
        if waiter is not None:
            self._started += 1
            waiter.set_result(self._new_worker())

    def close(self) -> None:
        """Ends the idle workers (a worker ends by itself when this process does)."""
        while self._idle:
            self._idle.pop().close()
        self._started = 0


def _serve(conn: Connection) -> None:
    """The worker's loop: one call at a time until the socket closes."""
    requests: Arena | None = None
    segments = Segments()
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        if message[0] == "arena":
            requests = receive_arena(conn, message[1], requests)
            continue
        _, header, layout, released = message
        segments.release(released)
        started = time.perf_counter()
        try:
            maps = {segment: segments.map_of(segment) for segment, *_ in layout if segment is not None}
            if requests is not None:
                maps[None] = requests.map
            function, args, kwargs = pickle.loads(header, buffers=views(layout, maps))
            args, kwargs = segments.place_outputs(args, kwargs)
            outcome: tuple[str, Any] = ("returned", function(*args, **kwargs))
            del function, args, kwargs  # views of shared memory that later calls reuse
        except Exception as exc:  # noqa: BLE001 - the caller's to handle: it is raised there
            outcome = ("raised", exc)
        try:
            payload, buffers = dump(outcome)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            payload, buffers = dump(("raised", RuntimeError(f"pixel worker could not return {outcome[1]!r}: {exc}")))
        answer_layout = segments.lend(conn, buffers, os.getppid())
        del outcome, buffers
        answer = ("answer", payload, answer_layout, time.perf_counter() - started, segments.closed())
        conn.send_bytes(pickle.dumps(answer))


# glibc's malloc hands allocations above its (adaptive) mmap threshold back to the kernel when they
# are freed and trims a heap whose free top grows past twice it, so a worker that makes and drops
# the same few megabyte images on every call faulted their pages in afresh each time: the mock's
# painting at T=512, ~2,400 page faults a call, 17.7 -> 12.6 ms with the heap kept; decoding and
# seams do not fault either way. A worker's peak is a few of a step's windows, so it keeps them.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_MMAP_ABOVE = 32 << 20  # glibc's largest mmap threshold: a T=1024 window (16 MiB) stays in the heap
_TRIM_ABOVE = 256 << 20


def keep_freed_memory() -> bool:
    """Makes this process's malloc keep freed memory for its next allocations (glibc only; False
    elsewhere, where the allocator is left as it is)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_ABOVE)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_ABOVE))


if __name__ == "__main__":
    os.nice(int(sys.argv[2]))
    keep_freed_memory()
    for module in sys.argv[3:]:
        importlib.import_module(module)
    _serve(Connection(int(sys.argv[1])))
