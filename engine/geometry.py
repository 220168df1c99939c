"""The tile grid: cells, directions, the extent limit, the frontier and its step-back rule.

Every function here is a pure function of the path (the placed cells in placement order), so
every server instance computes the same frontier and the same target cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from engine.errors import CellUnavailable

__all__ = [
    "Cell",
    "Direction",
    "TILE_SIZES",
    "DEFAULT_EXTENT",
    "frontier",
    "free_directions",
    "target_cell",
]

Cell = tuple[int, int]
"""(x, y) on the integer grid; y grows downward. The first tile is (0, 0)."""

TILE_SIZES = (256, 512, 1024)
"""The tile sizes a room may choose. The pixel functions accept any even size (tests use tiny ones)."""

DEFAULT_EXTENT = (8, 8)
"""Width and height, in cells, of the largest bounding box a room's tiles may cover."""


class Direction(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"

    @property
    def delta(self) -> Cell:
        return _DELTAS[self]


_DELTAS: dict[Direction, Cell] = {
    Direction.LEFT: (-1, 0),
    Direction.RIGHT: (1, 0),
    Direction.UP: (0, -1),
    Direction.DOWN: (0, 1),
}


class _Grid:
    """The occupied cells and their bounding box, to answer "is this cell free?" in O(1)."""

    def __init__(self, path: Sequence[Cell], extent: tuple[int, int]) -> None:
        width, height = extent
        if width < 1 or height < 1:
            raise ValueError(f"extent must be at least 1 x 1, got {extent!r}")
        self.width, self.height = width, height
        self.occupied = set(path)
        xs = [x for x, _ in path]
        ys = [y for _, y in path]
        self.box = (min(xs), min(ys), max(xs), max(ys))

    def is_free(self, cell: Cell) -> bool:
        if cell in self.occupied:
            return False
        x, y = cell
        min_x, min_y, max_x, max_y = self.box
        return max(max_x, x) - min(min_x, x) + 1 <= self.width and max(max_y, y) - min(min_y, y) + 1 <= self.height

    def free_from(self, cell: Cell) -> list[Direction]:
        x, y = cell
        return [d for d in Direction if self.is_free((x + d.delta[0], y + d.delta[1]))]


def frontier(path: Sequence[Cell], extent: tuple[int, int] = DEFAULT_EXTENT) -> Cell | None:
    """The cell the next step grows from, or None (no tile yet, or the room is full).

    It is the last placed cell if that has a free neighbour; otherwise the newest earlier cell
    along the path that has one (the step-back rule).
    """
    if not path:
        return None
    grid = _Grid(path, extent)
    for cell in reversed(path):
        if grid.free_from(cell):
            return cell
    return None


def free_directions(path: Sequence[Cell], extent: tuple[int, int] = DEFAULT_EXTENT) -> list[Direction]:
    """The directions a step may take now, in the order left, right, up, down.

    With no tile yet every direction is allowed (the first step places (0, 0) whichever is
    named); with the room full the list is empty.
    """
    if not path:
        return list(Direction)
    cell = frontier(path, extent)
    return [] if cell is None else _Grid(path, extent).free_from(cell)


def target_cell(path: Sequence[Cell], direction: Direction | str, extent: tuple[int, int] = DEFAULT_EXTENT) -> Cell:
    """The cell a step in `direction` would paint; raises CellUnavailable if it may not."""
    direction = Direction(direction)
    if not path:
        return (0, 0)
    start = frontier(path, extent)
    if start is None:
        raise CellUnavailable("the room is full: no placed tile has a free neighbour")
    dx, dy = direction.delta
    cell = (start[0] + dx, start[1] + dy)
    if not _Grid(path, extent).is_free(cell):
        raise CellUnavailable(f"cell {cell} ({direction.value} of {start}) is taken or outside the extent")
    return cell
