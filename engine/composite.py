"""The composite canvas: the bounding box of all tiles, empty cells transparent."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine._pixels import check_image, check_tile_size
from engine.geometry import Cell

__all__ = ["composite"]


def composite(tiles: Mapping[Cell, np.ndarray], tile_size: int) -> tuple[np.ndarray, Cell]:
    """Paste every tile into one RGBA image; returns (image, the cell at its top-left corner).

    With no tiles the canvas is one transparent T x T cell at (0, 0), where the first tile will
    go, so callers can always encode and show an image.
    """
    check_tile_size(tile_size)
    if not tiles:
        return np.zeros((tile_size, tile_size, 4), dtype=np.uint8), (0, 0)
    xs = [x for x, _ in tiles]
    ys = [y for _, y in tiles]
    min_x, min_y = min(xs), min(ys)
    width, height = max(xs) - min_x + 1, max(ys) - min_y + 1
    canvas = np.zeros((height * tile_size, width * tile_size, 4), dtype=np.uint8)
    for (x, y), tile in tiles.items():
        check_image(tile, tile_size, f"tile {(x, y)}")
        top, left = (y - min_y) * tile_size, (x - min_x) * tile_size
        canvas[top : top + tile_size, left : left + tile_size] = tile
    return canvas, (min_x, min_y)
