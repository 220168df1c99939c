from __future__ import annotations

import numpy as np
import pytest

from engine import SEAM_METHODS, SeamResult, build_context, context_drift, correct_seams, cut_tile, seam_score

T = 256
H = T // 2
TARGET = (1, 1)
ALL_AROUND = [(x, y) for y in range(3) for x in range(3) if (x, y) != TARGET]
LAYOUTS = {
    "all-around": ALL_AROUND,
    "left": [(0, 1)],
    "top-right": [(1, 0), (2, 1), (2, 0)],
    "three-sides": [(1, 0), (1, 2), (0, 1)],
}


def _rgb(image: np.ndarray) -> np.ndarray:
    return image[..., :3].astype(np.float64)


def _scene(make_world, cut_world_tiles, cells, shift=(40, 0, -30), size=T):
    """(context, generated, truth tile): neighbours cut from a world, and a 'generated' window,
    the true window shifted in colour."""
    world = make_world(size)
    context = build_context(cut_world_tiles(world, size, cells), TARGET, size)
    half = size // 2
    window = world[half : half + 2 * size, half : half + 2 * size].astype(np.int16)
    window[..., :3] += np.asarray(shift, dtype=np.int16)
    truth = world[size : 2 * size, size : 2 * size]
    return context, np.clip(window, 0, 255).astype(np.uint8), truth


def _stripes(size: int, shift: int = 0, seed: int = 3) -> np.ndarray:
    """A 3T x 3T world of soft diagonal stripes (period ~64 px), moved `shift` px."""
    rng = np.random.default_rng(seed)
    side = 3 * size
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64)
    xx -= shift
    yy -= shift
    rgb = np.stack(
        [
            128 + 50 * np.sin(2 * np.pi * (xx + 0.6 * yy) / 64 + phase) + 20 * np.sin(2 * np.pi * yy / 97)
            for phase in rng.uniform(0, 2 * np.pi, size=3)
        ],
        axis=-1,
    )
    world = np.full((side, side, 4), 255, np.uint8)
    world[..., :3] = np.clip(np.rint(rgb), 0, 255)
    return world


def _visible_step(tile: np.ndarray, truth: np.ndarray, bands=(1, 4, 16)) -> float:
    """As bench/seams.py: the error against the truth averaged over the w = 1, 4, 16 lines next to
    each edge and over 2w + 1 pixels along it, mean absolute."""
    error = _rgb(tile) - _rgb(truth)
    views = {"left": error.swapaxes(0, 1), "right": error[:, ::-1].swapaxes(0, 1), "top": error, "bottom": error[::-1]}
    steps = []
    for edge in views:
        for w in bands:
            band = views[edge][:w].mean(axis=0)
            kernel = np.ones(2 * w + 1) / (2 * w + 1)
            smoothed = np.stack([np.convolve(band[:, c], kernel, mode="same") for c in range(3)], axis=1)
            steps.append(np.abs(smoothed[w:-w]).mean())
    return float(np.mean(steps))


# --- both methods -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", SEAM_METHODS)
@pytest.mark.parametrize("cells", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_correction_lowers_the_score_of_a_colour_shifted_tile_at_least_3x(make_world, cut_world_tiles, cells, method):
    context, generated, _ = _scene(make_world, cut_world_tiles, cells)
    before = seam_score(cut_tile(generated, T), context, T)
    result = correct_seams(generated, context, T, method=method)
    assert isinstance(result, SeamResult)
    assert result.seam_score == seam_score(result.tile, context, T)
    assert before > 3 * result.seam_score, (before, result.seam_score)
    assert result.seam_score < 2.0


@pytest.mark.parametrize("method", SEAM_METHODS)
def test_correction_never_changes_its_inputs_and_returns_a_new_opaque_tile(make_world, cut_world_tiles, method):
    context, generated, _ = _scene(make_world, cut_world_tiles, ALL_AROUND)
    context_before, generated_before = context.copy(), generated.copy()
    tile = correct_seams(generated, context, T, method=method).tile
    assert np.array_equal(context, context_before)
    assert np.array_equal(generated, generated_before)
    assert not np.shares_memory(tile, context) and not np.shares_memory(tile, generated)
    assert tile.shape == (T, T, 4) and tile.dtype == np.uint8 and (tile[..., 3] == 255).all()


@pytest.mark.parametrize("method", SEAM_METHODS)
def test_correction_is_deterministic(make_world, cut_world_tiles, method):
    context, generated, _ = _scene(make_world, cut_world_tiles, LAYOUTS["top-right"])
    first = correct_seams(generated, context, T, method=method)
    again = correct_seams(generated.copy(), context.copy(), T, method=method)
    assert first.tile.tobytes() == again.tile.tobytes()
    assert (first.seam_score, first.context_drift) == (again.seam_score, again.context_drift)


@pytest.mark.parametrize("method", SEAM_METHODS)
def test_a_tile_corrected_into_out_is_the_same_tile_whatever_out_held(make_world, cut_world_tiles, method):
    context, generated, _ = _scene(make_world, cut_world_tiles, LAYOUTS["top-right"])
    out = np.full((T, T, 4), 0x5A, dtype=np.uint8)
    result = correct_seams(generated, context, T, method=method, out=out)
    assert result.tile is out
    assert out.tobytes() == correct_seams(generated, context, T, method=method).tile.tobytes()


@pytest.mark.parametrize("method", SEAM_METHODS)
def test_a_tile_without_neighbours_is_left_as_generated_with_score_zero(make_world, cut_world_tiles, method):
    context, generated, _ = _scene(make_world, cut_world_tiles, [])
    result = correct_seams(generated, context, T, method=method)
    assert np.array_equal(result.tile, cut_tile(generated, T))
    assert result.seam_score == 0.0 and result.context_drift == 0.0


@pytest.mark.parametrize("tile_size", [2, 4, 6, 8, 10, 16, 34])
@pytest.mark.parametrize("cells", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_tiny_and_odd_half_tiles_work(make_world, cut_world_tiles, cells, tile_size):
    context, generated, _ = _scene(make_world, cut_world_tiles, cells, size=tile_size)
    for method in SEAM_METHODS:
        result = correct_seams(generated, context, tile_size, method=method)
        assert result.tile.shape == (tile_size, tile_size, 4) and (result.tile[..., 3] == 255).all()
        assert np.isfinite(result.seam_score) and result.seam_score >= 0 and np.isfinite(result.context_drift)


def test_an_rgb_generated_image_is_accepted(make_world, cut_world_tiles):
    context, generated, _ = _scene(make_world, cut_world_tiles, ALL_AROUND)
    rgba = correct_seams(generated, context, T)
    rgb = correct_seams(np.ascontiguousarray(generated[..., :3]), context, T)
    assert rgba.tile.tobytes() == rgb.tile.tobytes()


def test_bad_arguments_are_refused(make_world, cut_world_tiles):
    context, generated, _ = _scene(make_world, cut_world_tiles, ALL_AROUND)
    with pytest.raises(ValueError):
        correct_seams(generated[:-2, :-2], context, T)
    with pytest.raises(ValueError):
        correct_seams(generated, context, T, method="median")  # type: ignore[arg-type]


# --- the gradient-domain blend ------------------------------------------------------------------


@pytest.mark.parametrize("cells", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_colour_cast_is_removed_everywhere_in_the_tile(make_world, cut_world_tiles, cells):
    context, generated, truth = _scene(make_world, cut_world_tiles, cells)
    tile = correct_seams(generated, context, T).tile
    error = np.abs(_rgb(tile) - _rgb(truth))
    assert error.max() <= 1.0, error.max()  # exact, up to the one rounding
    offset = correct_seams(generated, context, T, method="offset").tile
    interior = (slice(H - 16, H + 16), slice(H - 16, H + 16))
    assert np.abs(_rgb(offset) - _rgb(truth))[interior].mean() > 10  # the tint the old method leaves


def test_the_seam_continues_the_neighbours_own_gradient(make_world, cut_world_tiles):
    """Under a lighting gradient, the tile's border pixels differ from the neighbour's as the
    neighbour's last two lines differ from each other (as the truth does), the raw tile does not."""
    world = make_world(T)
    context = build_context(cut_world_tiles(world, T, ALL_AROUND), TARGET, T)
    window = world[H : H + 2 * T, H : H + 2 * T, :3].astype(np.float64)
    ramp = np.linspace(0.8, 1.25, 2 * T)
    generated = np.full((2 * T, 2 * T, 4), 255, np.uint8)
    generated[..., :3] = np.clip(np.rint(window * ramp[None, :, None] * ramp[:, None, None] ** 0.5), 0, 255)
    truth = world[T : 2 * T, T : 2 * T]
    left = context[H : H + T, H - 2 : H, :3].astype(np.float64)  # the neighbour's last two columns

    def mismatch(tile: np.ndarray) -> float:
        across = _rgb(tile)[:, 0] - left[:, 1]
        own = left[:, 1] - left[:, 0]
        return float(np.abs(across - own).mean())

    blended = correct_seams(generated, context, T).tile
    assert mismatch(blended) <= mismatch(truth) + 0.5
    assert mismatch(cut_tile(generated, T)) > mismatch(truth) + 5


def test_free_edges_keep_the_generators_content(make_world, cut_world_tiles):
    """One neighbour (left), a generator that paints another picture (its KEEP mismatch has no
    trend to carry): the right half keeps the generator's pixel-to-pixel detail, and the
    correction meets the free edges flat (zero normal derivative), not pinned to anything."""
    world = make_world(T)
    other = make_world(T, seed=7)  # the generator paints something else altogether
    context = build_context(cut_world_tiles(world, T, LAYOUTS["left"]), TARGET, T)
    generated = other[H : H + 2 * T, H : H + 2 * T].copy()
    raw = cut_tile(generated, T)
    tile = correct_seams(generated, context, T).tile
    change = _rgb(tile) - _rgb(raw)
    assert np.abs(change).mean() > 5  # it did correct toward the neighbour
    detail = np.diff(_rgb(tile), axis=1) - np.diff(_rgb(raw), axis=1)
    assert np.abs(detail[:, H:]).max() <= 2  # the free half's gradients are the generator's
    # (The top and bottom edges from column 3 on: the first three are the left seam's feather.)
    for free in (change[:, -1] - change[:, -2], change[0, 3:] - change[1, 3:], change[-1, 3:] - change[-2, 3:]):
        assert np.abs(free).max() <= 1


def test_a_lighting_gradient_is_followed_across_the_free_half(make_world, cut_world_tiles):
    """One neighbour (left), a generator whose light rises from left to right over the whole
    window (by 40 levels): its KEEP mismatch is a plane, which the correction carries across the
    tile, so the free right quarter ends up near the truth; stopping at the seam's level (Neumann
    alone, the plane's slope dropped) would leave about the raw error there."""
    world = make_world(T)
    context = build_context(cut_world_tiles(world, T, LAYOUTS["left"]), TARGET, T)
    ramp = np.linspace(-15, 25, 2 * T)
    generated = world[H : H + 2 * T, H : H + 2 * T].copy()
    generated[..., :3] = np.clip(np.rint(generated[..., :3] + ramp[None, :, None]), 0, 255)
    truth = _rgb(world[T : 2 * T, T : 2 * T])
    right = slice(3 * T // 4, T)
    raw_error = np.abs(_rgb(cut_tile(generated, T)) - truth)[:, right].mean()
    blended = _rgb(correct_seams(generated, context, T).tile)
    assert np.abs(blended - truth)[:, right].mean() < 0.25 * raw_error


def test_a_texture_stepping_along_its_own_colours_is_not_taken_for_a_tint():
    """Wood-like streaks across the top seam step between light and dark brown from one line to
    the next, so a faithful tile's first lines differ from the neighbour's last as much as a
    tint would; but those steps lie along the texture's own colours: the blend leaves a faithful
    tile as painted, and a tile tinted in colours the texture never takes is mostly corrected
    (the offset method, with nothing in the KEEP band to see, leaves the whole tint)."""
    rng = np.random.default_rng(0)
    light, dark = np.array([205, 150, 95.0]), np.array([120, 70, 35.0])
    shade = 0.5 + 0.15 * rng.uniform(-1, 1, size=3 * T)  # a shade per line
    world = np.full((3 * T, 3 * T, 4), 255, np.uint8)
    world[..., :3] = np.rint(light + (dark - light) * shade[:, None, None] * np.ones((1, 3 * T, 1)))
    context = build_context({(1, 0): world[:T, T : 2 * T]}, TARGET, T)
    faithful = world[H : H + 2 * T, H : H + 2 * T].copy()
    truth = _rgb(cut_tile(faithful, T))
    assert np.abs(_rgb(correct_seams(faithful, context, T).tile) - truth).mean() < 1.0
    tinted = faithful.copy()
    tinted[H : H + T, H : H + T, :3] = np.clip(tinted[H : H + T, H : H + T, :3] + np.array([12, -10, 14]), 0, 255)
    blended = np.abs(_rgb(correct_seams(tinted, context, T).tile) - truth).mean()
    offset = np.abs(_rgb(correct_seams(tinted, context, T, method="offset").tile) - truth).mean()
    assert offset > 11
    assert blended < 0.25 * offset


def test_a_misaligned_structure_leaves_at_most_half_the_offset_methods_visible_step():
    """The generator paints soft stripes 2 px off (its KEEP band too): the old offset, smoothed
    along the edge, cannot follow them; the blend pins them to the neighbours. Measured where the
    seam is, the 1 and 4 px bands (at 16 px the blend has let go: ~0.55 over all three bands)."""
    world, shifted = _stripes(T), _stripes(T, shift=2)
    context = build_context(
        {c: world[c[1] * T : (c[1] + 1) * T, c[0] * T : (c[0] + 1) * T] for c in ALL_AROUND}, TARGET, T
    )
    generated = shifted[H : H + 2 * T, H : H + 2 * T].copy()
    truth = world[T : 2 * T, T : 2 * T]
    poisson = correct_seams(generated, context, T).tile
    offset = correct_seams(generated, context, T, method="offset").tile
    near = _visible_step(poisson, truth, bands=(1, 4)), _visible_step(offset, truth, bands=(1, 4))
    assert near[0] <= 0.5 * near[1], near
    assert _visible_step(poisson, truth) < 0.65 * _visible_step(offset, truth)


def test_a_generator_that_keeps_the_band_but_tints_the_tile_is_corrected(make_world, cut_world_tiles):
    """Its KEEP band is the real one, so the mismatch there is nil, but its tile is tinted: the
    generator's own step at the seam is what the blend removes; the offset method sees nothing."""
    world = make_world(T)
    context = build_context(cut_world_tiles(world, T, ALL_AROUND), TARGET, T)
    generated = world[H : H + 2 * T, H : H + 2 * T].copy()
    inner = generated[H : H + T, H : H + T, :3].astype(np.int16) + np.array([24, -12, 18], np.int16)
    generated[H : H + T, H : H + T, :3] = np.clip(inner, 0, 255)
    truth = world[T : 2 * T, T : 2 * T]
    poisson = correct_seams(generated, context, T).tile
    offset = correct_seams(generated, context, T, method="offset").tile
    assert np.abs(_rgb(offset) - _rgb(truth)).mean() > 15
    assert np.abs(_rgb(poisson) - _rgb(truth)).mean() < 3


# --- the offset method --------------------------------------------------------------------------


def test_offset_correction_fades_out_toward_the_centre_and_skips_free_edges(make_world, cut_world_tiles):
    context, generated, _ = _scene(make_world, cut_world_tiles, [(0, 1)])
    tile = correct_seams(generated, context, T, method="offset").tile
    raw = cut_tile(generated, T)
    change = np.abs(tile[..., :3].astype(int) - raw[..., :3]).mean(axis=(0, 2))
    assert change[0] > 15  # the left edge takes the full correction
    assert np.all(np.diff(change[: H - 1]) <= 0.5)  # shrinking toward the centre
    assert np.array_equal(tile[:, H:], raw[:, H:])  # nothing on the half without a neighbour


# --- the seam score -----------------------------------------------------------------------------


def _true_tile(make_world, cut_world_tiles, cells=ALL_AROUND):
    context, _, truth = _scene(make_world, cut_world_tiles, cells, shift=(0, 0, 0))
    return context, truth.copy()


def _add(tile: np.ndarray, delta: np.ndarray) -> np.ndarray:
    out = tile.copy()
    out[..., :3] = np.clip(np.rint(_rgb(tile) + delta[..., None]), 0, 255)
    return out


def test_a_true_continuation_scores_about_as_visible_as_texture(make_world, cut_world_tiles):
    context, truth = _true_tile(make_world, cut_world_tiles)
    assert seam_score(truth, context, T) < 1.0


def test_a_soft_step_scores_above_a_true_continuation(make_world, cut_world_tiles):
    """A 12-level step spread over 8 px (the old score ranked it below the truth)."""
    context, truth = _true_tile(make_world, cut_world_tiles)
    ramp = np.zeros(T)
    ramp[:8] = 12 * np.linspace(1, 0, 8, endpoint=False)
    soft = _add(truth, np.broadcast_to(ramp, (T, T)))  # on the left edge
    assert seam_score(soft, context, T) > 2 * seam_score(truth, context, T)
    assert seam_score(soft, context, T) > 1.0


def test_a_tint_inside_the_tile_is_seen(make_world, cut_world_tiles):
    """Nothing in the first 3 px, 16 levels from 16 px in: a score of the border lines (the old
    one) cannot see it."""
    context, truth = _true_tile(make_world, cut_world_tiles)
    distance = np.minimum.reduce(
        np.meshgrid(np.arange(T), np.arange(T)) + np.meshgrid(np.arange(T)[::-1], np.arange(T)[::-1])
    )
    tint = 16 * np.clip((distance - 3) / 13, 0, 1)
    tinted = _add(truth, tint)
    assert seam_score(tinted, context, T) > 1.5 * seam_score(truth, context, T)


def test_smearing_the_border_is_not_rewarded(make_world, cut_world_tiles):
    """The tile's first 6 lines on each edge blurred (a 7 x 7 box over the window): the old score
    ranked that better than the truth."""
    world = make_world(T)
    context, truth = _true_tile(make_world, cut_world_tiles)
    area = world[T - 8 : 2 * T + 8, T - 8 : 2 * T + 8, :3].astype(np.float64)
    blurred = area.copy()
    for axis in (0, 1):
        blurred = sum(np.roll(blurred, k, axis=axis) for k in range(-3, 4)) / 7
    smeared = truth.copy()
    ring = np.ones((T, T), bool)
    ring[6:-6, 6:-6] = False
    smeared[..., :3][ring] = np.clip(np.rint(blurred[8:-8, 8:-8][ring]), 0, 255)
    assert seam_score(smeared, context, T) >= seam_score(truth, context, T)


def test_the_score_is_the_worst_edges(make_world, cut_world_tiles):
    context, truth = _true_tile(make_world, cut_world_tiles)
    step = np.zeros((T, T))
    one_edge = _add(truth, np.where(np.arange(T)[None, :] < H, 10.0, 0.0) + step)  # left half brighter
    all_edges = _add(truth, np.full((T, T), 10.0))
    one, every = seam_score(one_edge, context, T), seam_score(all_edges, context, T)
    assert one > 3 * seam_score(truth, context, T)
    assert one == pytest.approx(every, rel=0.25)  # not diluted by the three good edges


# --- context drift ------------------------------------------------------------------------------


def test_context_drift_is_far_larger_for_a_generator_that_ignores_its_context(make_world, cut_world_tiles):
    context, faithful, _ = _scene(make_world, cut_world_tiles, ALL_AROUND, shift=(8, -4, 6))
    ignoring = make_world(T, seed=11)[H : H + 2 * T, H : H + 2 * T]
    drift_faithful = context_drift(faithful, context, T)
    drift_ignoring = context_drift(ignoring, context, T)
    assert drift_faithful == pytest.approx(6.0, abs=0.5)
    assert drift_ignoring >= 3 * drift_faithful
    assert correct_seams(faithful, context, T).context_drift == drift_faithful


def test_context_drift_does_not_count_misalignment_and_grain(make_world, cut_world_tiles):
    world = make_world(T)
    context = build_context(cut_world_tiles(world, T, ALL_AROUND), TARGET, T)
    shifted = world[H + 2 : H + 2 + 2 * T, H + 2 : H + 2 + 2 * T]
    assert context_drift(shifted, context, T) < 4.0  # the blobs move a little at low frequency too


def test_texture_that_does_not_continue_meets_the_neighbours_at_the_seam(make_world, cut_world_tiles):
    """The generator keeps the KEEP band but paints the tile's fine detail from another picture:
    the blend pins the seam lines to the neighbours (the offset method, seeing no band mismatch,
    cannot), and a tile that does continue its neighbours is left almost as it is."""
    world, other = make_world(T), make_world(T, seed=5)
    context = build_context(cut_world_tiles(world, T, ALL_AROUND), TARGET, T)
    truth = world[T : 2 * T, T : 2 * T]
    generated = world[H : H + 2 * T, H : H + 2 * T].copy()
    foreign = other[T : 2 * T, T : 2 * T, :3].astype(np.int16)
    fine = foreign - np.roll(foreign, 1, axis=0) // 2 - np.roll(foreign, -1, axis=0) // 2  # its fine detail only
    generated[H : H + T, H : H + T, :3] = np.clip(truth[..., :3].astype(np.int16) + 4 * fine, 0, 255)
    poisson = correct_seams(generated, context, T).tile
    offset = correct_seams(generated, context, T, method="offset").tile
    near = _visible_step(poisson, truth, bands=(1,)), _visible_step(offset, truth, bands=(1,))
    assert near[0] <= 0.6 * near[1], near
    faithful = world[H : H + 2 * T, H : H + 2 * T]
    kept = correct_seams(faithful, context, T).tile
    assert np.abs(_rgb(kept) - _rgb(truth)).mean() < 0.2


@pytest.mark.parametrize(
    "cells",
    [[(-1, 0)], [(0, -1), (-1, 0), (-1, -1), (1, -1)], [(-1, 0), (1, 0)], [(1, 1), (0, 1), (-1, -1)]],
    ids=["left", "above-and-left", "left-and-right", "scattered"],
)
def test_the_keep_blocks_are_every_block_of_keep_pixels_with_both_images_means(cells):
    # Each shape sums in one or more bands of block rows: the figures are a plain block walk's.
    from engine._seam_score import _block, keep_blocks

    size = 64
    rng = np.random.default_rng(len(cells))
    tiles = {cell: rng.integers(0, 256, (size, size, 4), dtype=np.uint8) for cell in cells}
    context = build_context(tiles, (0, 0), size)
    generated = rng.integers(0, 256, (2 * size, 2 * size, 4), dtype=np.uint8)
    blocks = keep_blocks(generated, context, size)
    block = _block(size)
    centre = (block - 1) / 2 - size // 2  # a block's centre, from the tile's top-left pixel
    expected = []
    for row in range(2 * size // block):
        for col in range(2 * size // block):
            window = (slice(row * block, (row + 1) * block), slice(col * block, (col + 1) * block))
            if (context[window][..., 3] == 255).all():
                means = [image[window][..., :3].reshape(-1, 3).mean(axis=0) for image in (context, generated)]
                expected.append((row * block + centre, col * block + centre, *means))
    assert len(expected) == len(blocks.rows) > 0
    for index, (row, col, real, painted) in enumerate(expected):
        assert (blocks.rows[index], blocks.cols[index]) == (row, col)
        np.testing.assert_allclose(blocks.real[index], real)
        np.testing.assert_allclose(blocks.painted[index], painted)
