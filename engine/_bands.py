"""The lines of a context window and of a tile on either side of the tile's edges (private)."""

from __future__ import annotations

import numpy as np

from engine._pixels import OPAQUE

__all__ = ["EDGES", "outer_band", "inner_band", "neighboured_edges"]

EDGES = ("left", "right", "top", "bottom")


def outer_band(window: np.ndarray, tile_size: int, edge: str, depth: int) -> np.ndarray:
    """The `depth` lines of a 2T window just outside the tile's `edge`, (depth, T, C), line 0 at
    the seam; positions along the edge run top to bottom (left, right) or left to right (top, bottom)."""
    half, end = tile_size // 2, tile_size // 2 + tile_size
    if edge == "left":
        return window[half:end, half - depth : half][:, ::-1].swapaxes(0, 1)
    if edge == "right":
        return window[half:end, end : end + depth].swapaxes(0, 1)
    if edge == "top":
        return window[half - depth : half, half:end][::-1]
    return window[end : end + depth, half:end]


def inner_band(tile: np.ndarray, edge: str, depth: int) -> np.ndarray:
    """The `depth` outermost lines of a tile along `edge`, (depth, T, C), line 0 at the seam."""
    if edge == "left":
        return tile[:, :depth].swapaxes(0, 1)
    if edge == "right":
        return tile[:, ::-1][:, :depth].swapaxes(0, 1)
    if edge == "top":
        return tile[:depth]
    return tile[::-1][:depth]


def neighboured_edges(context: np.ndarray, tile_size: int) -> list[str]:
    """The edges of the target cell whose whole outer line is an existing tile's (KEEP) pixels."""
    return [e for e in EDGES if (outer_band(context, tile_size, e, 1)[0, :, 3] == OPAQUE).all()]
