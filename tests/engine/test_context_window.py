from __future__ import annotations

import numpy as np
import pytest

from engine import CellUnavailable, Output, build_context, composite, cut_tile, keep_mask

T = 16
H = T // 2
NEIGHBOURS = [(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dx, dy) != (0, 0)]


def _random_tile(seed: int, size: int = T) -> np.ndarray:
    tile = np.random.default_rng(seed).integers(0, 256, size=(size, size, 4), dtype=np.uint8)
    tile[..., 3] = 255
    return tile


def test_context_centres_target_and_copies_every_neighbour_half_opaque():
    target = (3, -2)
    tiles = {(target[0] + dx, target[1] + dy): _random_tile(i) for i, (dx, dy) in enumerate(NEIGHBOURS)}
    context = build_context(tiles, target, T)
    assert context.shape == (2 * T, 2 * T, 4) and context.dtype == np.uint8
    # Window pixel (r, c) shows canvas pixel (ty*T - T/2 + r, tx*T - T/2 + c): check each neighbour.
    for dx, dy in NEIGHBOURS:
        tile = tiles[(target[0] + dx, target[1] + dy)]
        rows = range(max(0, H + dy * T), min(2 * T, H + (dy + 1) * T))
        cols = range(max(0, H + dx * T), min(2 * T, H + (dx + 1) * T))
        window = context[rows.start : rows.stop, cols.start : cols.stop]
        top, left = H + dy * T, H + dx * T  # where the neighbour's own (0, 0) falls in the window
        source = tile[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
        assert window.shape[:2] == ((T if dy == 0 else H), (T if dx == 0 else H))
        assert np.array_equal(window, source)
    assert not context[H : H + T, H : H + T].any()
    assert keep_mask(context).sum() == (2 * T) ** 2 - T * T


def test_context_without_neighbours_is_fully_transparent():
    far = {(10, 10): _random_tile(0)}
    context = build_context(far, (0, 0), T)
    assert not context.any()
    assert not keep_mask(context).any()


def test_context_forces_kept_pixels_opaque():
    tile = _random_tile(1)
    tile[..., 3] = 7
    context = build_context({(0, 0): tile}, (1, 0), T)
    assert (context[H : H + T, :H, 3] == 255).all()
    assert np.array_equal(context[H : H + T, :H, :3], tile[:, H:, :3])


def test_context_written_into_out_is_the_same_window_whatever_out_held_before():
    tiles = {(-1, 0): _random_tile(1), (0, 1): _random_tile(2)}  # the empty cells must be cleared
    expected = build_context(tiles, (0, 0), T)
    out = np.full((2 * T, 2 * T, 4), 0xAB, dtype=np.uint8)
    assert build_context(tiles, (0, 0), T, out=out) is out
    assert np.array_equal(out, expected)
    # A placeholder no runner replaced is a new array.
    assert np.array_equal(build_context(tiles, (0, 0), T, out=Output((2 * T, 2 * T, 4))), expected)


@pytest.mark.parametrize(
    "out",
    [np.zeros((2 * T, 2 * T, 3), np.uint8), np.zeros((2 * T, 2 * T, 4), np.float32), Output((T, T, 4))],
    ids=["three channels", "float", "a tile's placeholder"],
)
def test_context_refuses_an_out_of_another_shape_or_type(out):
    with pytest.raises(ValueError):
        build_context({(-1, 0): _random_tile(1)}, (0, 0), T, out=out)


def test_context_refuses_an_occupied_target():
    with pytest.raises(CellUnavailable):
        build_context({(0, 0): _random_tile(0)}, (0, 0), T)


def test_context_rejects_tiles_of_the_wrong_size():
    with pytest.raises(ValueError):
        build_context({(0, 0): _random_tile(0, size=T + 2)}, (1, 0), T)
    with pytest.raises(ValueError):
        build_context({}, (0, 0), 15)


@pytest.mark.parametrize("channels", [3, 4])
def test_cut_tile_takes_the_central_square_as_an_opaque_tile(channels):
    generated = np.random.default_rng(2).integers(0, 256, size=(2 * T, 2 * T, channels), dtype=np.uint8)
    tile = cut_tile(generated, T)
    assert tile.shape == (T, T, 4)
    assert np.array_equal(tile[..., :3], generated[H : H + T, H : H + T, :3])
    assert (tile[..., 3] == 255).all()
    assert not np.shares_memory(tile, generated)


def test_cut_tile_rejects_an_image_of_the_wrong_size():
    with pytest.raises(ValueError):
        cut_tile(np.zeros((2 * T, 2 * T + 2, 4), np.uint8), T)
    with pytest.raises(ValueError):
        cut_tile(np.zeros((2 * T, 2 * T, 4), np.float32), T)


def test_composite_spans_the_bounding_box_with_transparent_gaps():
    tiles = {(-1, 0): _random_tile(0), (1, 1): _random_tile(1)}
    canvas, origin = composite(tiles, T)
    assert origin == (-1, 0)
    assert canvas.shape == (2 * T, 3 * T, 4)
    assert np.array_equal(canvas[:T, :T], tiles[(-1, 0)])
    assert np.array_equal(canvas[T:, 2 * T :], tiles[(1, 1)])
    assert not canvas[:T, T:].any() and not canvas[T:, : 2 * T].any()


def test_composite_of_no_tiles_is_one_transparent_cell_at_the_origin():
    canvas, origin = composite({}, T)
    assert origin == (0, 0)
    assert canvas.shape == (T, T, 4) and not canvas.any()
