"""The pixel workers' shared memory on its own: an answer's segment is as small as its size class
allows, and a segment given back is reused only for an answer of its own class, since a segment the
loop keeps (a cached tile) pins every page an earlier answer touched; an Output's array is lent
where the function wrote it."""

from __future__ import annotations

import gc
import pickle
import socket
from collections.abc import Iterator
from multiprocessing.connection import Connection

import numpy as np
import pytest

from engine import Output
from server.play.pixel_transport import Lent, Segments, dump


@pytest.fixture
def pair() -> Iterator[tuple[Connection, Connection]]:
    worker, loop = socket.socketpair()
    ends = Connection(worker.detach()), Connection(loop.detach())
    yield ends
    for end in ends:
        end.close()


def lend(segments: Segments, pair: tuple[Connection, Connection], lent: Lent, answer: object) -> tuple[int, int]:
    """Lends a segment for `answer` the way a worker does and maps it the way the loop does:
    (the segment, the size the loop mapped)."""
    worker, loop = pair
    _, buffers = dump(answer)
    layout = segments.lend(worker, buffers, 0)
    segment = layout[0][0]
    assert segment is not None
    if loop.poll():  # a segment the loop has not mapped yet: its descriptor comes first
        _, sent, size = pickle.loads(loop.recv_bytes())
        lent.map(loop, sent, size)
        assert sent == segment
    return segment, len(lent.answer(segment))


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


def test_an_outputs_array_is_lent_where_it_was_written_with_the_rest_behind_it(pair):
    segments, lent = Segments(), Lent()
    (written,), _ = segments.place_outputs((Output((1000, 3)),), {})
    written[...] = 9
    small = np.arange(10)
    worker, loop = pair
    _, buffers = dump((small, written))  # the Output's array second: it must not move to the front
    layout = segments.lend(worker, buffers, 0)
    (segment_of_small, at_small, _, _), (segment, at, length, _) = layout
    assert (segment, at, length) == (0, 0, 3000) and segment_of_small == 0 and at_small >= 3000
    _, _, size = pickle.loads(loop.recv_bytes())
    lent.map(loop, 0, size)
    assert bytes(lent.answer(0)[:3000]) == b"\x09" * 3000
    assert segments._next == 1  # no other segment was needed


def test_an_answer_that_does_not_fit_behind_its_outputs_is_copied_and_the_kept_segment_freed(pair):
    segments, lent = Segments(), Lent()
    _, placed = segments.place_outputs((), {"out": Output((1000,))})
    placed["out"][...] = 5
    large = np.ones(1 << 20, np.uint8)  # more than the room kept behind an Output
    segment, _ = lend(segments, pair, lent, (placed.pop("out"), large))
    assert segment == 1
    segments.place_outputs((Output((1000,)),), {})
    assert segments._reserved is not None and segments._reserved[0] == 0  # the kept one, reused


def test_a_call_that_answers_nothing_lent_frees_the_segment_kept_for_its_outputs(pair):
    segments = Segments()
    segments.place_outputs((Output((4096,)),), {})
    assert segments.lend(pair[0], [], 0) == []
    segments.place_outputs((Output((4096,)),), {})
    assert segments._next == 1 and segments._reserved is not None and segments._reserved[0] == 0


def test_a_segment_is_mapped_once_and_let_go_when_the_worker_closes_it(pair):
    segments, lent = Segments(), Lent()
    first, _ = lend(segments, pair, lent, np.zeros(1 << 20, np.uint8))
    segments.release([first])
    again, _ = lend(segments, pair, lent, np.zeros(1 << 20, np.uint8))
    assert again == first and not pair[1].poll()  # lent again: no second descriptor was sent
    assert segments.closed() == []
    # Given back with more free than a worker keeps: the oldest closes, and the loop is told once.
    spares = [lend(segments, pair, lent, np.zeros(64 << 10, np.uint8))[0] for _ in range(5)]
    segments.release([again, *spares])
    closed = segments.closed()
    assert closed == [again, spares[0]] and segments.closed() == []
    lent.unmap(closed)
    assert first not in lent._maps and spares[1] in lent._maps


def test_an_answer_is_given_back_when_its_last_view_goes_and_found_until_then(pair):
    segments, lent = Segments(), Lent()
    segment, _ = lend(segments, pair, lent, np.zeros(1 << 20, np.uint8))
    lent.released()  # the helper's own look at the segment
    whole = lent.answer(segment)
    view = np.frombuffer(memoryview(whole)[4096:8192], np.uint8)[10:]
    assert lent.find(pickle.PickleBuffer(view)) == (segment, 4106)
    del whole
    assert lent.released() == []  # a view is left
    del view
    gc.collect()
    assert lent.released() == [segment]
