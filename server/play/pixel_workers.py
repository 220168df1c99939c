"""Pure pixel functions in worker processes, driven by the event loop itself.

Why processes: numpy, Pillow and zlib release the GIL around each large operation and take it back
after, so a pixel thread beside a busy event loop waits up to the interpreter's switch interval
(5 ms) at every one of its hundreds of operations. bench/live.py saturated its one pixel thread at
~30 steps/s (T=256) with the thread's jobs taking ~33 ms of wall time for ~15 ms of work, and two
threads did no better. Measured in isolation (a thread spinning pure Python beside the work, T=256):
a step's pixel work took 17 ms alone and 877 ms beside the spinner on a thread; 61 ms in a
`concurrent.futures` process pool, whose feeder and result threads wait on the GIL in the same way.
So: no helper threads at all. A call pickles its function and arguments (protocol 5) on the loop;
arrays and large bytes travel out of band through shared memory (an unlinked memfd each way, passed
as a file descriptor and grown on demand), so only a small header crosses the socket; the loop
watches the socket with add_reader and copies the answer's buffers out. The worker's answer keeps
each buffer's read-only flag, so a frozen tile comes back frozen. In bench/live.py (T=256, 100
rooms, 1,000 watchers) the workers raised the steps/s at saturation by 10-15% over the thread in
the same run and stayed below 80% busy; the price is those copies on the loop, ~0.14 ms per MiB
each way (about 0.8 ms a step at T=256, 3 ms at T=512).

A function must be importable by name (a module-level function, or a partial of one) and must not
keep or change its arguments: it runs on copies in another process. A call whose caller is
cancelled, or whose worker dies, loses the worker (it is killed); the next call starts a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import mmap
import os
import pickle
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Any, TypeVar

__all__ = ["WorkerDied", "WorkerPool"]

T = TypeVar("T")

# Bytes objects this large travel out of band too (PNG tiles, decoded answers); smaller ones stay
# in the header, where a copy costs less than a buffer's bookkeeping.
_OUT_OF_BAND_BYTES = 64 * 1024
_MIN_ARENA = 1 << 20


class WorkerDied(RuntimeError):
    """The worker process ended (killed, crashed or out of memory) before it answered."""


class _Pickler(pickle.Pickler):
    """Protocol 5, with large bytes objects sent out of band like arrays."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is bytes and len(obj) >= _OUT_OF_BAND_BYTES:
            return bytes, (pickle.PickleBuffer(obj),)
        return NotImplemented


def _dump(obj: Any) -> tuple[bytes, list[pickle.PickleBuffer]]:
    buffers: list[pickle.PickleBuffer] = []
    stream = io.BytesIO()
    _Pickler(stream, protocol=5, buffer_callback=buffers.append).dump(obj)
    return stream.getvalue(), buffers


class _Arena:
    """Shared memory one side writes and the other maps: an unlinked memfd, replaced when too small."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.map = mmap.mmap(fd, size)

    @classmethod
    def create(cls, size: int) -> _Arena:
        size = max(_MIN_ARENA, 1 << (size - 1).bit_length())
        fd = os.memfd_create("exquisite-pixels", os.MFD_CLOEXEC)
        os.ftruncate(fd, size)
        return cls(fd, size)

    def close(self) -> None:
        # A worker's argument views may outlive their call in a reference cycle: the map then
        # closes when the last of them goes (mmap holds a descriptor of its own).
        with contextlib.suppress(BufferError):
            self.map.close()
        os.close(self.fd)

    def write(self, buffers: list[pickle.PickleBuffer]) -> list[tuple[int, int, bool]]:
        """Copies the buffers in back to back: [(offset, length, read-only)]."""
        layout, offset = [], 0
        for buffer in buffers:
            raw = buffer.raw()
            self.map[offset : offset + raw.nbytes] = raw
            layout.append((offset, raw.nbytes, raw.readonly))
            offset += raw.nbytes
        return layout

    def views(self, layout: list[tuple[int, int, bool]]) -> list[memoryview]:
        """The buffers in place (the worker's side: valid until the next call)."""
        whole = memoryview(self.map)
        return [whole[offset : offset + length] for offset, length, _ in layout]

    def copies(self, layout: list[tuple[int, int, bool]]) -> list[memoryview]:
        """The buffers copied out, read-only where they were (the loop's side)."""
        copies = []
        with memoryview(self.map) as whole:
            for offset, length, readonly in layout:
                copy = memoryview(bytearray(whole[offset : offset + length]))
                copies.append(copy.toreadonly() if readonly else copy)
        return copies


def _write_out(
    conn: Connection, arena: _Arena | None, buffers: list[pickle.PickleBuffer], pid: int
) -> tuple[_Arena, list[tuple[int, int, bool]]]:
    """Writes the buffers into the arena this side owns, first replacing it with a larger one (and
    passing that to the other side, `pid`) when they do not fit: (the arena, the layout)."""
    needed = sum(buffer.raw().nbytes for buffer in buffers)
    if arena is None or arena.size < needed:
        if arena is not None:
            arena.close()
        arena = _Arena.create(needed)
        conn.send_bytes(pickle.dumps(("arena", arena.size)))
        reduction.send_handle(conn, arena.fd, pid)
    return arena, arena.write(buffers)


def _receive_arena(conn: Connection, size: int, old: _Arena | None) -> _Arena:
    if old is not None:
        old.close()
    return _Arena(reduction.recv_handle(conn), size)


class _Worker:
    """One worker process and its socket; one call at a time."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.play.pixel_workers", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.requests: _Arena | None = None  # ours: the arguments
        self.answers: _Arena | None = None  # theirs: the results

    async def call(self, header: bytes, buffers: list[pickle.PickleBuffer]) -> tuple[str, Any, float]:
        """(outcome, value, the worker's busy seconds): ("returned", result) or ("raised", exception)."""
        self.requests, layout = _write_out(self.conn, self.requests, buffers, self.process.pid)
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[tuple[Any, list[tuple[int, int, bool]], float]] = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, self._on_readable, answered)
        # The loop's reader made the socket non-blocking; a message is read whole once it starts
        # (the worker writes each in one go, and they are small: the data are in the arenas).
        os.set_blocking(fd, True)
        try:
            self.conn.send_bytes(pickle.dumps(("call", header, layout)))
            payload, layout, seconds = await answered
        finally:
            loop.remove_reader(fd)
        assert self.answers is not None
        outcome, value = pickle.loads(payload, buffers=self.answers.copies(layout))
        return outcome, value, seconds

    def _on_readable(self, answered: asyncio.Future) -> None:
        try:
            while not answered.done() and self.conn.poll():
                message = pickle.loads(self.conn.recv_bytes())
                if message[0] == "arena":
                    self.answers = _receive_arena(self.conn, message[1], self.answers)
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
        for arena in (self.requests, self.answers):
            if arena is not None:
                arena.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class WorkerPool:
    """Up to `size` worker processes, started on first use and shared by every event loop of the
    process (the tests run many); callers beyond `size` wait their turn in order."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.busy_seconds = 0.0  # what the workers spent in calls, all together
        self._idle: list[_Worker] = []
        self._started = 0
        self._waiting: deque[tuple[float, asyncio.Future[_Worker]]] = deque()  # (since, waiter)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        header, buffers = _dump((function, args, kwargs))
        worker = await self._take()
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

    async def _take(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.process.poll() is None:
                return worker
            self._started -= 1  # it ended while idle (killed, out of memory): start another
            worker.close()
        if self._started < self.size:
            self._started += 1
            return _Worker()
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
            waiter.set_result(_Worker())

    def close(self) -> None:
        """Ends the idle workers (a worker ends by itself when this process does)."""
        while self._idle:
            self._idle.pop().close()
        self._started = 0


def _serve(conn: Connection) -> None:
    """The worker's loop: one call at a time until the socket closes."""
    requests: _Arena | None = None
    answers: _Arena | None = None
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        if message[0] == "arena":
            requests = _receive_arena(conn, message[1], requests)
            continue
        _, header, layout = message
        started = time.perf_counter()
        try:
            assert requests is not None or not layout
            function, args, kwargs = pickle.loads(header, buffers=requests.views(layout) if requests else [])
            outcome: tuple[str, Any] = ("returned", function(*args, **kwargs))
            del function, args, kwargs  # they are views of the arena, which the next call reuses
        except Exception as exc:  # noqa: BLE001 - the caller's to handle: it is raised there
            outcome = ("raised", exc)
        try:
            payload, buffers = _dump(outcome)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            payload, buffers = _dump(("raised", RuntimeError(f"pixel worker could not return {outcome[1]!r}: {exc}")))
        answers, answer_layout = _write_out(conn, answers, buffers, os.getppid())
        del outcome, buffers
        conn.send_bytes(pickle.dumps(("answer", payload, answer_layout, time.perf_counter() - started)))


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
