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
as a file descriptor and grown on demand: server/play/pixel_transport.py), so only a small header
crosses the socket; the loop watches the socket with add_reader and copies the answer's buffers out.
The worker's answer keeps each buffer's read-only flag, so a frozen tile comes back frozen. In
bench/live.py (T=256, 100 rooms, 1,000 watchers) the workers raised the steps/s at saturation by
10-15% over the thread in the same run and stayed below 80% busy; the price is those copies on the
loop, ~0.14 ms per MiB each way (about 0.8 ms a step at T=256, 3 ms at T=512).

A function must be importable by name (a module-level function, or a partial of one) and must not
keep or change its arguments: it runs on copies in another process. A call whose caller is
cancelled, or whose worker dies, loses the worker (it is killed); the next call starts a fresh one.

Workers run `niceness` steps below their server: pixel work is throughput, the loop's frames are
latency, so when the cores are short the scheduler gives them to the loop first (a step waits
longer, the feed does not). They start with the server and import what they will run (`preload`), so
neither the first steps nor the live sockets of a fresh instance share the cores with a start.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from server.play.pixel_transport import Arena, dump, receive_arena, write_out

__all__ = ["WorkerDied", "WorkerPool"]

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
        self.requests: Arena | None = None  # ours: the arguments
        self.answers: Arena | None = None  # theirs: the results

    async def call(self, header: bytes, buffers: list[pickle.PickleBuffer]) -> tuple[str, Any, float]:
        """(outcome, value, the worker's busy seconds): ("returned", result) or ("raised", exception)."""
        self.requests, layout = write_out(self.conn, self.requests, buffers, self.process.pid)
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
                    self.answers = receive_arena(self.conn, message[1], self.answers)
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

    def start(self) -> None:
        """Starts the workers not yet running, idle until called."""
        while self._started < self.size:
            self._started += 1
            self._idle.append(self._new_worker())

    def _new_worker(self) -> _Worker:
        return _Worker(self.niceness, self.preload)

    async def _take(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
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
    answers: Arena | None = None
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        if message[0] == "arena":
            requests = receive_arena(conn, message[1], requests)
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
            payload, buffers = dump(outcome)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            payload, buffers = dump(("raised", RuntimeError(f"pixel worker could not return {outcome[1]!r}: {exc}")))
        answers, answer_layout = write_out(conn, answers, buffers, os.getppid())
        del outcome, buffers
        conn.send_bytes(pickle.dumps(("answer", payload, answer_layout, time.perf_counter() - started)))


if __name__ == "__main__":
    os.nice(int(sys.argv[2]))
    for module in sys.argv[3:]:
        importlib.import_module(module)
    _serve(Connection(int(sys.argv[1])))
