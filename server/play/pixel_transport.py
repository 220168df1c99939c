"""How a pixel worker call's values travel: pickled (protocol 5) with arrays and large bytes out of
band, through shared memory that one side writes and the other maps (server/play/pixel_workers.py
says why). Each side owns the arena it writes, an unlinked memfd replaced by a larger one, passed
over the socket, when a call's values do not fit."""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import pickle
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Arena", "dump", "write_out", "receive_arena"]

# Bytes objects this large travel out of band too (PNG tiles, decoded answers); smaller ones stay
# in the header, where a copy costs less than a buffer's bookkeeping.
_OUT_OF_BAND_BYTES = 64 * 1024
_MIN_ARENA = 1 << 20


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


class Arena:
    """Shared memory one side writes and the other maps: an unlinked memfd, replaced when too small."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.map = mmap.mmap(fd, size)

    @classmethod
    def create(cls, size: int) -> Arena:
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


def write_out(
    conn: Connection, arena: Arena | None, buffers: list[pickle.PickleBuffer], pid: int
) -> tuple[Arena, list[tuple[int, int, bool]]]:
    """Writes the buffers into the arena this side owns, first replacing it with a larger one (and
    passing that to the other side, `pid`) when they do not fit: (the arena, the layout)."""
    needed = sum(buffer.raw().nbytes for buffer in buffers)
    if arena is None or arena.size < needed:
        if arena is not None:
            arena.close()
        arena = Arena.create(needed)
        conn.send_bytes(pickle.dumps(("arena", arena.size)))
        reduction.send_handle(conn, arena.fd, pid)
    return arena, arena.write(buffers)


def receive_arena(conn: Connection, size: int, old: Arena | None) -> Arena:
    if old is not None:
        old.close()
    return Arena(reduction.recv_handle(conn), size)
