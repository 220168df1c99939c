"""Fixtures for the engine tests: a smooth, textured "world" image to cut tiles from."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

World = Callable[..., np.ndarray]


@pytest.fixture
def make_world() -> World:
    """make_world(tile_size, cells=3, seed=0): an opaque (cells*T, cells*T, 4) picture.

    Smooth colour fields plus a little fine noise, kept inside 60..200 so that the colour shifts
    the seam tests apply never clip.
    """

    def build(tile_size: int, cells: int = 3, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        side = cells * tile_size
        coarse = rng.integers(70, 190, size=(cells * 6, cells * 6, 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC), dtype=np.int16)
        grain = rng.integers(-3, 4, size=smooth.shape)
        world = np.full((side, side, 4), 255, dtype=np.uint8)
        world[..., :3] = np.clip(smooth + grain, 60, 200)
        return world

    return build


def tiles_of(world: np.ndarray, tile_size: int, cells: list[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
    """The tiles of `world` at `cells` (cell (x, y) is the T x T square at column x, row y)."""
    return {
        (x, y): world[y * tile_size : (y + 1) * tile_size, x * tile_size : (x + 1) * tile_size].copy() for x, y in cells
    }


@pytest.fixture
def cut_world_tiles() -> Callable[..., dict[tuple[int, int], np.ndarray]]:
    return tiles_of
