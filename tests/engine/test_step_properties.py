"""Invariant I1 on the engine alone: for any sequence of steps, a step adds exactly one tile and
never changes a pixel of an existing one, and the same inputs give the same bytes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import (
    CellUnavailable,
    Direction,
    MockGenerator,
    build_context,
    composite,
    correct_seams,
    encode_png,
    free_directions,
    target_cell,
)

PROMPTS = ["a harbour at night", "moss", "", "glass towers, fog", "ünïcödé ✨"]


async def _play(directions, prompts, tile_size, extent):
    """Run the steps as the server would; check I1 after each; return the tiles in order."""
    mock = MockGenerator()
    tiles: dict = {}
    path: list = []
    for step, (direction, prompt) in enumerate(zip(directions, prompts, strict=False)):
        free = free_directions(path, extent)
        if not free:
            break
        if direction not in free:
            try:
                target_cell(path, direction, extent)
            except CellUnavailable:
                direction = free[0]
            else:
                raise AssertionError(f"{direction} is not free yet target_cell accepted it")
        target = target_cell(path, direction, extent)
        context = build_context(tiles, target, tile_size)
        context_before = context.copy()
        before = {cell: tile.copy() for cell, tile in tiles.items()}

        generated = await mock.generate(context, prompt, seed=step)
        seams = correct_seams(generated, context, tile_size)
        tile, score = seams.tile, seams.seam_score

        assert np.array_equal(context, context_before)
        assert target not in tiles
        assert tile.shape == (tile_size, tile_size, 4) and (tile[..., 3] == 255).all()
        assert score >= 0.0
        tiles[target] = tile
        path.append(target)
        assert len(tiles) == len(before) + 1
        for cell, pixels in before.items():
            assert tiles[cell].tobytes() == pixels.tobytes(), f"tile {cell} changed at step {step}"
    return path, tiles


@settings(max_examples=60, deadline=None)
@given(
    directions=st.lists(st.sampled_from(list(Direction)), min_size=1, max_size=10),
    prompts=st.lists(st.sampled_from(PROMPTS), min_size=10, max_size=10),
    tile_size=st.sampled_from([8, 16, 32, 64]),
    extent=st.tuples(st.integers(1, 4), st.integers(1, 4)),
)
async def test_any_step_sequence_keeps_existing_tiles_and_adds_exactly_one(directions, prompts, tile_size, extent):
    path, tiles = await _play(directions, prompts, tile_size, extent)
    assert len(path) == len(tiles) == len(set(path))

    again_path, again_tiles = await _play(directions, prompts, tile_size, extent)
    assert again_path == path
    assert [encode_png(again_tiles[c]) for c in path] == [encode_png(tiles[c]) for c in path]
    assert encode_png(composite(again_tiles, tile_size)[0]) == encode_png(composite(tiles, tile_size)[0])


async def test_a_real_tile_size_step_sequence_keeps_existing_tiles():
    path, _tiles = await _play(["right", "down", "left", "left", "up"], ["a", "b", "c", "d", "e"], 256, (8, 8))
    assert path == [(0, 0), (0, 1), (-1, 1), (-2, 1), (-2, 0)]
