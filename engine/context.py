"""The context window a generator sees, and the cut of the new tile from what it returns.

The window is 2T x 2T, centred on the target cell: the target occupies [T/2, 3T/2) on both axes
and the window covers the nearer half of each of its eight neighbours. Pixels of existing tiles
are copied in opaque (alpha 255, the KEEP region); everything else is (0, 0, 0, 0). The alpha
channel is therefore the mask, with transparent meaning "paint here", as OpenAI's edit API reads it.

A folded room shows the player whose turn it is less than the generator gets: `edge_window()` is
the same window holding only the T/4-deep strip of the frontier tile that borders the target.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine._pixels import OPAQUE, Output, check_image, check_tile_size, opaque_copy, output_array
from engine.errors import CellUnavailable
from engine.geometry import Cell, Direction

__all__ = ["build_context", "edge_window", "keep_mask", "cut_tile"]


def _spans(tile_size: int) -> dict[int, tuple[slice, slice]]:
    """For a neighbour offset along one axis: (its slice in the window, the slice of its own pixels)."""
    half = tile_size // 2
    return {
        -1: (slice(0, half), slice(half, tile_size)),
        0: (slice(half, half + tile_size), slice(0, tile_size)),
        1: (slice(half + tile_size, 2 * tile_size), slice(0, half)),
    }


def build_context(
    tiles: Mapping[Cell, np.ndarray], target: Cell, tile_size: int, *, out: np.ndarray | Output | None = None
) -> np.ndarray:
    """The (2T, 2T, 4) uint8 RGBA window centred on `target`, written into `out` when given (see
    Output); raises CellUnavailable if the cell is taken."""
    check_tile_size(tile_size)
    if target in tiles:
        raise CellUnavailable(f"cell {target} already has a tile")
    spans = _spans(tile_size)
    window = output_array(out, (2 * tile_size, 2 * tile_size, 4))
    tx, ty = target
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            tile = tiles.get((tx + dx, ty + dy))
            (rows_w, rows_t), (cols_w, cols_t) = spans[dy], spans[dx]
            if tile is None:
                window[rows_w, cols_w] = 0  # each byte written once: `out` may hold anything
                continue
            check_image(tile, tile_size, f"tile {(tx + dx, ty + dy)}")
            opaque_copy(tile[rows_t, cols_t], window[rows_w, cols_w])
    return window


def edge_window(frontier_tile: np.ndarray, direction: Direction, tile_size: int) -> np.ndarray:
    """The (2T, 2T, 4) window a folded room shows whoever continues `frontier_tile` in `direction`:
    laid out as build_context()'s, but opaque only on the T/4-deep strip of that tile which borders
    the target cell; transparent everywhere else, whatever other tiles surround the target."""
    check_tile_size(tile_size)
    check_image(frontier_tile, tile_size, "frontier tile")
    dx, dy = direction.delta
    window = build_context({(-dx, -dy): frontier_tile}, (0, 0), tile_size)
    half, depth = tile_size // 2, tile_size // 4
    target = slice(half, half + tile_size)
    before, after = slice(half - depth, half), slice(half + tile_size, half + tile_size + depth)
    rows, cols = {
        Direction.RIGHT: (target, before),
        Direction.LEFT: (target, after),
        Direction.DOWN: (before, target),
        Direction.UP: (after, target),
    }[direction]
    edge = np.zeros_like(window)
    edge[rows, cols] = window[rows, cols]
    return edge


def keep_mask(context: np.ndarray) -> np.ndarray:
    """True where the context holds pixels of an existing tile (KEEP), False where to paint."""
    return context[..., 3] == OPAQUE


def cut_tile(generated: np.ndarray, tile_size: int, *, out: np.ndarray | Output | None = None) -> np.ndarray:
    """The central T x T of a 2T x 2T RGB or RGBA image, as a new opaque RGBA tile (in `out` when
    given: see Output)."""
    check_tile_size(tile_size)
    check_image(generated, 2 * tile_size, "generated image", channels=(3, 4))
    half = tile_size // 2
    tile = output_array(out, (tile_size, tile_size, 4))
    opaque_copy(generated[half : half + tile_size, half : half + tile_size], tile)
    return tile
