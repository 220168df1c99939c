from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import (
    DEFAULT_EXTENT,
    TILE_SIZES,
    CellUnavailable,
    Direction,
    free_directions,
    frontier,
    target_cell,
)

# A 3 x 3 spiral whose last tile, (1, 1), is boxed in; in a 4-wide extent only (0, 1) can still
# grow (to the left), so the frontier steps back to it.
SPIRAL = [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2), (0, 1), (1, 1)]


def test_directions_have_grid_deltas_with_y_growing_down():
    assert [d.delta for d in Direction] == [(-1, 0), (1, 0), (0, -1), (0, 1)]
    assert Direction("up") is Direction.UP


def test_product_constants():
    assert TILE_SIZES == (256, 512, 1024)
    assert DEFAULT_EXTENT == (8, 8)


@pytest.mark.parametrize("direction", list(Direction))
def test_first_step_places_origin_whatever_the_direction(direction):
    assert target_cell([], direction) == (0, 0)
    assert frontier([]) is None
    assert free_directions([]) == [Direction.LEFT, Direction.RIGHT, Direction.UP, Direction.DOWN]


def test_target_is_frontier_plus_direction():
    path = [(0, 0), (1, 0)]
    assert frontier(path) == (1, 0)
    assert target_cell(path, Direction.DOWN) == (1, 1)
    assert target_cell(path, "up") == (1, -1)
    assert free_directions(path) == [Direction.RIGHT, Direction.UP, Direction.DOWN]


def test_occupied_target_is_unavailable():
    with pytest.raises(CellUnavailable):
        target_cell([(0, 0), (1, 0)], Direction.LEFT)


def test_unknown_direction_is_a_value_error():
    with pytest.raises(ValueError):
        target_cell([(0, 0)], "diagonal")


def test_extent_limits_the_bounding_box_not_the_coordinates():
    path = [(0, 0), (-1, 0)]
    assert free_directions(path, (2, 2)) == [Direction.UP, Direction.DOWN]
    with pytest.raises(CellUnavailable):
        target_cell(path, Direction.LEFT, (2, 2))
    assert target_cell(path, Direction.LEFT, (3, 1)) == (-2, 0)
    with pytest.raises(CellUnavailable):
        target_cell(path, Direction.UP, (3, 1))


def test_boxed_in_frontier_steps_back_to_newest_tile_with_a_free_neighbour():
    assert frontier(SPIRAL, (4, 3)) == (0, 1)
    assert free_directions(SPIRAL, (4, 3)) == [Direction.LEFT]
    assert target_cell(SPIRAL, Direction.LEFT, (4, 3)) == (-1, 1)
    with pytest.raises(CellUnavailable):
        target_cell(SPIRAL, Direction.RIGHT, (4, 3))


def test_step_back_skips_every_boxed_in_tile_to_the_newest_free_one():
    # In a 3 x 4 extent only the bottom row can grow: (0, 2) is the newest tile next to it.
    assert frontier(SPIRAL, (3, 4)) == (0, 2)
    assert free_directions(SPIRAL, (3, 4)) == [Direction.DOWN]


def test_full_room_has_no_frontier_and_refuses_every_direction():
    assert frontier(SPIRAL, (3, 3)) is None
    assert free_directions(SPIRAL, (3, 3)) == []
    for direction in Direction:
        with pytest.raises(CellUnavailable):
            target_cell(SPIRAL, direction, (3, 3))


def test_one_cell_extent_is_full_after_the_first_tile():
    assert frontier([(0, 0)], (1, 1)) is None


def test_extent_must_be_positive():
    with pytest.raises(ValueError):
        frontier([(0, 0)], (0, 3))


@st.composite
def walks(draw):
    """A path grown by legal random steps, and the extent it was grown in."""
    extent = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    path = []
    for _ in range(draw(st.integers(0, 16))):
        free = free_directions(path, extent)
        if not free:
            break
        path.append(target_cell(path, draw(st.sampled_from(free)), extent))
    return path, extent


@settings(max_examples=200, deadline=None)
@given(walks())
def test_frontier_is_the_newest_tile_with_a_free_neighbour_and_agrees_everywhere(walk):
    path, extent = walk
    cell = frontier(path, extent)
    # Recomputed from an independent copy (as another server instance would), the answer is the same.
    assert frontier(tuple(path), extent) == cell
    assert free_directions(list(path), extent) == free_directions(path, extent)
    newer = path[path.index(cell) + 1 :] if cell is not None else path
    if cell is not None:
        assert _free_neighbours(path, cell, extent)
    assert not any(_free_neighbours(path, tile, extent) for tile in newer)
    xs = [x for x, _ in path] or [0]
    ys = [y for _, y in path] or [0]
    assert max(xs) - min(xs) < extent[0] and max(ys) - min(ys) < extent[1]
    assert len(set(path)) == len(path)


def _free_neighbours(path, tile, extent):
    """Brute force, independent of engine.geometry: the empty neighbours that keep the box in extent."""
    neighbours = [(tile[0] + d.delta[0], tile[1] + d.delta[1]) for d in Direction]
    return [n for n in neighbours if n not in path and _fits(path, n, extent)]


def _fits(path, cell, extent):
    xs = [x for x, _ in path] + [cell[0]]
    ys = [y for _, y in path] + [cell[1]]
    return max(xs) - min(xs) < extent[0] and max(ys) - min(ys) < extent[1]
