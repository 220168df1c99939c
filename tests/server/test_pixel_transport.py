"""The pixel workers' shared memory on its own: an answer's segment is as small as its size class
allows, and a segment given back is reused only for an answer of its own class, since a segment the
loop keeps (a cached tile) pins every page an earlier answer touched."""

from __future__ import annotations

import pickle
import socket
from collections.abc import Iterator
from multiprocessing.connection import Connection

import numpy as np
import pytest

from server.play.pixel_transport import Lent, Segments, dump


@pytest.fixture
def pair() -> Iterator[tuple[Connection, Connection]]:
    worker, loop = socket.socketpair()
    ends = Connection(worker.detach()), Connection(loop.detach())
    yield ends
    for end in ends:
        end.close()


def lend(segments: Segments, pair: tuple[Connection, Connection], lent: Lent, answer: np.ndarray) -> tuple[int, int]:
    """Lends a segment for `answer` the way a worker does and maps it the way the loop does:
    (the segment, the size the loop mapped)."""
    worker, loop = pair
    _, buffers = dump(answer)
    layout = segments.lend(worker, buffers, 0)
    _, segment, size = pickle.loads(loop.recv_bytes())
    mapped = lent.map(loop, segment, size)
    assert layout[0][0] == segment
    return segment, len(mapped)


def test_a_small_answer_gets_a_small_segment(pair):
    segments, lent = Segments(), Lent()
    assert lend(segments, pair, lent, np.zeros(256 << 10, np.uint8))[1] == 256 << 10
    assert lend(segments, pair, lent, np.zeros(3 << 20, np.uint8))[1] == 4 << 20


def test_a_segment_given_back_is_reused_only_within_its_size_class(pair):
    segments, lent = Segments(), Lent()
    large, _ = lend(segments, pair, lent, np.zeros(1 << 20, np.uint8))
    segments.release([large])
    small, size = lend(segments, pair, lent, np.zeros(256 << 10, np.uint8))
    assert small != large and size == 256 << 10  # not the larger segment and all it touched
    again, _ = lend(segments, pair, lent, np.zeros(1 << 20, np.uint8))
    assert again == large
