"""How a pixel worker call's values travel: pickled (protocol 5) with arrays and large bytes out of
band, through shared memory (unlinked memfds, passed over the socket as file descriptors), so only
a small header crosses the socket (server/play/pixel_workers.py says why).

- Arguments: the loop copies them into its request arena, one memfd it reuses (and replaces with a
  larger one when a call's values do not fit), which the worker reads in place.
- Answers: the worker writes each into a segment, a memfd of its own that it lends to the loop;
  the answer's arrays are views of the loop's map of it, not copies. The segment stays lent
  while any view of it lives on the loop's side; when the last goes, the loop says so with its
  next call and the worker writes a later answer there (its pages already touched).
- The loop maps a segment once: its descriptor crosses the first time it is lent, and the worker
  names the segments it closes with its next answer. Sending and mapping it for every answer
  cost the loop 0.150-0.160 ms a call with an answer in a segment against 0.115-0.125 ms
  (/tmp scripts, 2,000 calls each).
- An argument that is such a view (a step's context, its painted window, a cached tile) is not
  copied back: the call names the segment and the offset, and the worker reads its own mapping.
- An argument that is an engine.Output (the array a function writes its result into) becomes an
  array at the start of the segment the answer will be lent in: a result written there is not
  copied at all (a step's context, its painted window and its new tile: 9 MiB at T=512).

A step's arrays all come from a worker (the tiles it decoded or finished, the context, the painted
window), so they all cross by name: at T=512 the loop copied about 20 MiB a step before, and in
bench/live.py (10 steps/s) the server's own process went from 17.4 to 13.5 ms of CPU a step.
"""

from __future__ import annotations

import contextlib
import io
import math
import mmap
import os
import pickle
import weakref
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from engine import Output

__all__ = ["Arena", "Lent", "Segments", "Layout", "dump", "write_out", "receive_arena", "views"]

# Bytes objects this large travel out of band too (PNG tiles, decoded answers); smaller ones stay
# in the header, where a copy costs less than a buffer's bookkeeping.
_OUT_OF_BAND_BYTES = 64 * 1024
_MIN_ARENA = 1 << 20
# A segment's smallest size class: small, since a segment the loop keeps (a cached tile) pins all
# of it that any earlier answer touched, and a tile at T=256 is 256 KiB.
_MIN_SEGMENT = 64 << 10
# Where an Output's array starts in its segment: a cache line, as numpy's own allocations.
_ALIGN = 64
# Free segments a worker keeps for later answers; more are closed (a burst of large answers
# should not pin its memory for good).
_SPARE_SEGMENTS = 4

# Where each buffer of a call's values is: (segment, offset, length, read-only), segment None for
# the request arena.
Layout = list[tuple[int | None, int, int, bool]]


class _Pickler(pickle.Pickler):
    """Protocol 5, with large bytes objects sent out of band like arrays."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is bytes and len(obj) >= _OUT_OF_BAND_BYTES:
            return bytes, (pickle.PickleBuffer(obj),)
        return NotImplemented


def dump(obj: Any) -> tuple[bytes, list[pickle.PickleBuffer]]:
    buffers: list[pickle.PickleBuffer] = []
    stream = io.BytesIO()
    _Pickler(stream, protocol=5, buffer_callback=buffers.append).dump(obj)
    return stream.getvalue(), buffers


def _address(buffer: Any) -> int:
    return int(np.frombuffer(buffer, dtype=np.uint8).ctypes.data)


class Arena:
    """Shared memory one side writes and the other maps: an unlinked memfd."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.map = mmap.mmap(fd, size)

    @staticmethod
    def size_for(needed: int, minimum: int = _MIN_ARENA) -> int:
        return max(minimum, 1 << (needed - 1).bit_length())

    @classmethod
    def create(cls, needed: int, minimum: int = _MIN_ARENA) -> Arena:
        size = cls.size_for(needed, minimum)
        fd = os.memfd_create("exquisite-pixels", os.MFD_CLOEXEC)
        os.ftruncate(fd, size)
        return cls(fd, size)

    def close(self) -> None:
        # A worker's argument views may outlive their call in a reference cycle: the map then
        # closes when the last of them goes (mmap holds a descriptor of its own).
        with contextlib.suppress(BufferError):
            self.map.close()
        os.close(self.fd)

    def write(self, buffers: list[pickle.PickleBuffer], segment: int | None = None, start: int = 0) -> Layout | None:
        """Copies the buffers in back to back from `start`, but for those already in it (an
        Output's array): the layout, or None if they do not fit."""
        base = _address(self.map)
        layout: Layout = []
        offset = start
        for buffer in buffers:
            raw = buffer.raw()
            inside = _address(raw) - base
            if 0 <= inside < self.size:
                layout.append((segment, inside, raw.nbytes, raw.readonly))
                continue
            if offset + raw.nbytes > self.size:
                return None
            self.map[offset : offset + raw.nbytes] = raw
            layout.append((segment, offset, raw.nbytes, raw.readonly))
            offset += raw.nbytes
        return layout


def views(layout: Layout, maps: dict[int | None, Any]) -> list[memoryview]:
    """The buffers in place, read-only where they were sent so (an empty one needs no map)."""
    found = []
    for segment, offset, length, readonly in layout:
        view = memoryview(maps[segment])[offset : offset + length] if length else memoryview(bytearray())
        found.append(view.toreadonly() if readonly else view)
    return found


def write_out(
    conn: Connection, arena: Arena | None, buffers: list[pickle.PickleBuffer], pid: int
) -> tuple[Arena | None, Layout]:
    """Writes the buffers into the request arena, first replacing it with a larger one (and passing
    that to the worker, `pid`) when they do not fit: (the arena, the layout)."""
    needed = sum(buffer.raw().nbytes for buffer in buffers)
    if not needed:
        return arena, [(None, 0, 0, buffer.raw().readonly) for buffer in buffers]
    if arena is None or arena.size < needed:
        if arena is not None:
            arena.close()
        arena = Arena.create(needed)
        conn.send_bytes(pickle.dumps(("arena", arena.size)))
        reduction.send_handle(conn, arena.fd, pid)
    layout = arena.write(buffers)
    assert layout is not None  # the arena was made to fit
    return arena, layout


def receive_arena(conn: Connection, size: int, old: Arena | None) -> Arena:
    if old is not None:
        old.close()
    return Arena(reduction.recv_handle(conn), size)


class Segments:
    """The worker's side: the segments its answers are written into, lent or free. A free segment
    is reused only for an answer of its own size class (a power of two), so that a segment the
    loop keeps for long (a cached tile) holds no more than twice its answer."""

    def __init__(self) -> None:
        self._all: dict[int, Arena] = {}
        self._free: dict[int, None] = {}  # oldest given back first
        self._next = 0
        self._reserved: tuple[int, int] | None = None  # (segment, bytes its Outputs take)
        self._shared: set[int] = set()  # the segments whose descriptor the loop has
        self._closed: list[int] = []  # closed since the last answer: the loop lets go of its maps

    def map_of(self, segment: int) -> mmap.mmap:
        return self._all[segment].map

    def release(self, segments: list[int]) -> None:
        self._free.update(dict.fromkeys(segment for segment in segments if segment in self._all))
        while len(self._free) > _SPARE_SEGMENTS:
            oldest = next(iter(self._free))
            del self._free[oldest]
            self._all.pop(oldest).close()
            if oldest in self._shared:
                self._shared.discard(oldest)
                self._closed.append(oldest)

    def closed(self) -> list[int]:
        """The segments closed since the last time asked, which the loop has mapped."""
        taken, self._closed = self._closed, []
        return taken

    def place_outputs(self, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        """The call's arguments with each Output replaced by an array at the start of a segment,
        kept for the call's answer (with room behind them for the answer's other, small values)."""
        outputs = [value for value in (*args, *kwargs.values()) if isinstance(value, Output)]
        if not outputs:
            return args, kwargs
        counts = [math.prod(output.shape) for output in outputs]
        spans = [-(-count // _ALIGN) * _ALIGN for count in counts]
        segment = self._take(Arena.size_for(sum(spans) + _MIN_SEGMENT, _MIN_SEGMENT))
        arrays: dict[int, np.ndarray] = {}
        offset = 0
        for output, count, span in zip(outputs, counts, spans, strict=True):
            arrays[id(output)] = np.frombuffer(self.map_of(segment), np.uint8, count, offset).reshape(output.shape)
            offset += span
        self._reserved = (segment, offset)

        def placed(value: Any) -> Any:
            return arrays.get(id(value), value) if isinstance(value, Output) else value

        return tuple(placed(value) for value in args), {key: placed(value) for key, value in kwargs.items()}

    def lend(self, conn: Connection, buffers: list[pickle.PickleBuffer], pid: int) -> Layout:
        """Writes the buffers into the segment kept for this answer (those of its Outputs are there
        already), or else a free segment of their size class (or a new one), and sends its
        descriptor if the loop has not mapped it yet; the answer's message must follow at once. No
        buffers: no segment."""
        reserved, self._reserved = self._reserved, None
        if reserved is not None:
            segment, used = reserved
            layout = self._all[segment].write(buffers, segment, used) if buffers else None
            if layout is not None:
                return self._send(conn, segment, layout, pid)
            self.release([segment])  # nothing to lend, or the rest did not fit: copied below
        if not buffers:
            return []
        segment = self._take(Arena.size_for(sum(buffer.raw().nbytes for buffer in buffers), _MIN_SEGMENT))
        layout = self._all[segment].write(buffers, segment)
        assert layout is not None  # the segment's size class holds them
        return self._send(conn, segment, layout, pid)

    def _take(self, size: int) -> int:
        """A free segment of this size class, or a new one."""
        segment = next((s for s in reversed(self._free) if self._all[s].size == size), None)
        if segment is None:
            segment, self._next = self._next, self._next + 1
            self._all[segment] = Arena.create(size, _MIN_SEGMENT)
        else:
            del self._free[segment]
        return segment

    def _send(self, conn: Connection, segment: int, layout: Layout, pid: int) -> Layout:
        """Sends the segment's descriptor the first time it is lent: the loop keeps its map."""
        if segment not in self._shared:
            arena = self._all[segment]
            conn.send_bytes(pickle.dumps(("segment", segment, arena.size)))
            reduction.send_handle(conn, arena.fd, pid)
            self._shared.add(segment)
        return layout


class Lent:
    """The loop's side: the worker's segments it maps (each once, kept until the worker closes it),
    and the answers lent in them, each given back (named by `released()`) once no view of it is
    left here. An answer's views all come from one array over the whole segment, made for that
    answer alone: when the last view goes, so does that array, and its weakref gives it back."""

    def __init__(self) -> None:
        self._maps: dict[int, mmap.mmap] = {}  # segment -> the map of it
        self._lent: dict[int, tuple[int, int, weakref.ref[np.ndarray]]] = {}  # id(answer) -> (segment, start, ref)
        self._released: list[int] = []

    def map(self, conn: Connection, segment: int, size: int) -> None:
        """Maps the segment whose descriptor comes next on `conn`."""
        fd = reduction.recv_handle(conn)
        try:
            self._maps[segment] = mmap.mmap(fd, size)
        finally:
            os.close(fd)  # the map holds a descriptor of its own

    def unmap(self, segments: list[int]) -> None:
        """Lets go of segments the worker has closed (given back: no view of them is left)."""
        for segment in segments:
            lent = self._maps.pop(segment, None)
            if lent is not None:
                with contextlib.suppress(BufferError):
                    lent.close()

    def answer(self, segment: int) -> np.ndarray:
        """The array over the whole segment that an answer lent in it is read from."""
        whole = np.frombuffer(self._maps[segment], np.uint8)
        key = id(whole)
        self._lent[key] = (segment, _address(whole), weakref.ref(whole, lambda _: self._give_back(key, segment)))
        return whole

    def _give_back(self, key: int, segment: int) -> None:
        # May run on any thread, whichever dropped the last view: a pop and an append are atomic.
        self._lent.pop(key, None)
        self._released.append(segment)

    def find(self, buffer: pickle.PickleBuffer) -> tuple[int, int] | None:
        """(segment, offset) if the buffer is a view of an answer lent here, else None."""
        owner: Any = buffer.raw().obj
        while True:
            found = self._lent.get(id(owner)) if isinstance(owner, np.ndarray) else None
            if found is not None and found[2]() is owner:
                segment, start, _ = found
                return segment, _address(buffer.raw()) - start
            if isinstance(owner, np.ndarray) and owner.base is not None:
                owner = owner.base
            elif isinstance(owner, memoryview):
                owner = owner.obj
            else:
                return None

    def released(self) -> list[int]:
        """The answers given back since the last time asked, by segment."""
        taken, self._released = self._released, []
        return taken
