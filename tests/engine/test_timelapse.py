"""The timelapse: frames bounded in pixels however large the round, one per tile in order."""

import io

import numpy as np
import pytest
from PIL import Image

from engine import encode_png
from engine.timelapse import _FRAME_PIXEL_BUDGET, TimelapseTile, cell_side, shrink_tile, tile_webp, timelapse_webp


def test_the_largest_round_fits_the_pixel_budget_and_small_ones_keep_their_size():
    every_cell = [(x, y) for y in range(8) for x in range(8)]
    side = cell_side(every_cell, 1024)
    assert 16 <= side <= 640 // 8
    assert len(every_cell) * (8 * side) * (8 * side + 38) <= _FRAME_PIXEL_BUDGET
    assert cell_side([(0, 0)], 256) == 256  # never above the tile's own size
    assert cell_side([(0, 0), (1, 0)], 1024) == 320  # the canvas fits 640 px
    with pytest.raises(ValueError):
        cell_side([], 256)


def test_each_frame_adds_one_tile_where_it_belongs_and_the_last_one_holds():
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    cells = [(0, 0), (1, 0), (1, 1)]
    tiles = [
        TimelapseTile(cell, np.full((32, 32, 3), colour, np.uint8), "Ada: " + "a very long prompt " * 20)
        for cell, colour in zip(cells, colours, strict=True)
    ]
    animation = Image.open(io.BytesIO(timelapse_webp(tiles)))
    assert animation.n_frames == 3 and animation.size[0] == 64 and animation.size[1] > 64
    durations = []
    for index, (x, y) in enumerate(cells):
        animation.seek(index)
        frame = np.asarray(animation.convert("RGB"), dtype=np.int16)
        durations.append(animation.info["duration"])  # known once the frame is loaded
        centre = frame[y * 32 + 16, x * 32 + 16]
        assert np.abs(centre - colours[index]).max() < 12
        if index < 2:  # the next tile's cell is still empty
            nx, ny = cells[index + 1]
            assert np.abs(frame[ny * 32 + 16, nx * 32 + 16] - colours[index + 1]).max() > 60
    assert durations[-1] > durations[0]


def test_a_tile_shrinks_to_its_cell_and_its_display_copy_to_the_width_asked():
    rgba = np.dstack(
        [np.random.default_rng(1).integers(0, 255, (256, 256, 3), dtype=np.uint8), np.full((256, 256), 255, np.uint8)]
    )
    png = encode_png(rgba)
    assert shrink_tile(png, 40).shape == (40, 40, 3)
    assert Image.open(io.BytesIO(tile_webp(png, 128))).size == (128, 128)
    assert Image.open(io.BytesIO(tile_webp(png, 1024))).size == (256, 256)
