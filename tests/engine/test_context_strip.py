"""A folded room's edge: the T/4-deep strip of the frontier tile next to the target, nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Direction, build_context, edge_window

T = 16
H, D = T // 2, T // 4


def _tile(seed: int) -> np.ndarray:
    tile = np.random.default_rng(seed).integers(0, 256, size=(T, T, 4), dtype=np.uint8)
    tile[..., 3] = 255
    return tile


# Where the strip lies in the 2T window, and which of the frontier tile's own pixels it shows.
STRIPS = {
    Direction.RIGHT: ((slice(H, H + T), slice(H - D, H)), (slice(0, T), slice(T - D, T))),
    Direction.LEFT: ((slice(H, H + T), slice(H + T, H + T + D)), (slice(0, T), slice(0, D))),
    Direction.DOWN: ((slice(H - D, H), slice(H, H + T)), (slice(T - D, T), slice(0, T))),
    Direction.UP: ((slice(H + T, H + T + D), slice(H, H + T)), (slice(0, D), slice(0, T))),
}


@pytest.mark.parametrize("direction", list(Direction))
def test_edge_window_is_only_the_frontier_strip_bordering_the_target(direction):
    frontier_tile = _tile(1)
    (rows, cols), (tile_rows, tile_cols) = STRIPS[direction]
    edge = edge_window(frontier_tile, direction, T)
    assert edge.shape == (2 * T, 2 * T, 4) and edge.dtype == np.uint8
    assert np.array_equal(edge[rows, cols], frontier_tile[tile_rows, tile_cols])
    assert (edge[..., 3] == 255).sum() == T * D
    outside = edge.copy()
    outside[rows, cols] = 0
    assert not outside.any(), "a pixel outside the strip is not transparent"


@pytest.mark.parametrize("direction", list(Direction))
def test_edge_window_matches_the_generators_window_on_the_strip_and_hides_every_other_tile(direction):
    dx, dy = direction.delta
    target = (0, 0)
    frontier_cell = (-dx, -dy)
    tiles = {(x, y): _tile(10 + 3 * x + y) for x in (-1, 0, 1) for y in (-1, 0, 1) if (x, y) != target}
    full = build_context(tiles, target, T)
    edge = edge_window(tiles[frontier_cell], direction, T)
    (rows, cols), _ = STRIPS[direction]
    assert np.array_equal(edge[rows, cols], full[rows, cols])
    assert (full[..., 3] == 255).sum() > (edge[..., 3] == 255).sum() == T * D


def test_edge_window_refuses_a_tile_of_the_wrong_size():
    with pytest.raises(ValueError):
        edge_window(np.zeros((T, T + 2, 4), dtype=np.uint8), Direction.RIGHT, T)
