from __future__ import annotations

import numpy as np
import pytest

from engine import build_context, correct_seams, cut_tile, seam_score

T = 128
H = T // 2
TARGET = (1, 1)
ALL_AROUND = [(x, y) for y in range(3) for x in range(3) if (x, y) != TARGET]


def _scene(make_world, cut_world_tiles, cells, shift=(40, 0, -30)):
    """Neighbours cut from a world, and a 'generated' window: the true window shifted in colour."""
    world = make_world(T)
    context = build_context(cut_world_tiles(world, T, cells), TARGET, T)
    window = world[H : H + 2 * T, H : H + 2 * T].astype(np.int16)
    window[..., :3] += np.asarray(shift, dtype=np.int16)
    return context, np.clip(window, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "cells",
    [ALL_AROUND, [(0, 1)], [(1, 0), (2, 1)], [(1, 0), (1, 2), (0, 1)]],
    ids=["all-around", "left", "top-right", "three-sides"],
)
def test_seam_correction_lowers_the_score_of_a_colour_shifted_tile_at_least_3x(make_world, cut_world_tiles, cells):
    context, generated = _scene(make_world, cut_world_tiles, cells)
    before = seam_score(cut_tile(generated, T), context, T)
    tile, after = correct_seams(generated, context, T)
    assert after == seam_score(tile, context, T)
    assert before > 3 * after, (before, after)
    assert after < 2.0


def test_true_continuation_scores_about_as_visible_as_texture(make_world, cut_world_tiles):
    context, generated = _scene(make_world, cut_world_tiles, ALL_AROUND, shift=(0, 0, 0))
    assert seam_score(cut_tile(generated, T), context, T) < 2.0


def test_seam_correction_never_mutates_its_inputs(make_world, cut_world_tiles):
    context, generated = _scene(make_world, cut_world_tiles, ALL_AROUND)
    context_before, generated_before = context.copy(), generated.copy()
    tile, _ = correct_seams(generated, context, T)
    assert np.array_equal(context, context_before)
    assert np.array_equal(generated, generated_before)
    assert not np.shares_memory(tile, context) and not np.shares_memory(tile, generated)


def test_seam_correction_is_deterministic(make_world, cut_world_tiles):
    context, generated = _scene(make_world, cut_world_tiles, ALL_AROUND)
    first, score = correct_seams(generated, context, T)
    second, again = correct_seams(generated.copy(), context.copy(), T)
    assert first.tobytes() == second.tobytes() and score == again


def test_tile_without_neighbours_is_left_as_generated_with_score_zero(make_world, cut_world_tiles):
    context, generated = _scene(make_world, cut_world_tiles, [])
    tile, score = correct_seams(generated, context, T)
    assert np.array_equal(tile, cut_tile(generated, T))
    assert score == 0.0


def test_correction_fades_out_toward_the_centre_and_skips_free_edges(make_world, cut_world_tiles):
    context, generated = _scene(make_world, cut_world_tiles, [(0, 1)])
    tile, _ = correct_seams(generated, context, T)
    raw = cut_tile(generated, T)
    change = np.abs(tile[..., :3].astype(int) - raw[..., :3]).mean(axis=(0, 2))
    assert change[0] > 15  # the left edge takes the full correction
    assert np.all(np.diff(change[: H - 1]) <= 0.5)  # shrinking toward the centre
    assert np.array_equal(tile[:, H:], raw[:, H:])  # nothing on the half without a neighbour
    assert (tile[..., 3] == 255).all()


def test_seam_correction_rejects_a_generated_image_of_the_wrong_size(make_world, cut_world_tiles):
    context, generated = _scene(make_world, cut_world_tiles, ALL_AROUND)
    with pytest.raises(ValueError):
        correct_seams(generated[:-2, :-2], context, T)
