"""Seam correction of a new tile against its existing neighbours, the seam score and context drift.

A step builds a 2T x 2T context window (the neighbours' pixels opaque, KEEP), the generator
returns a 2T x 2T image, and the new tile is its central T x T corrected here. Existing tiles are
only read: nothing here can change one of their pixels. Everything is deterministic for the same
inputs, synchronous and pure (the server runs it in a worker thread).

The blend (method="poisson", the default). Per RGB channel, the tile is the generated tile plus a
correction field h, rounded to uint8 once. h is harmonic (zero 5-point Laplacian at every tile
pixel), so the tile keeps the generator's gradients; on every edge with a neighbour, the line
just outside the tile is the neighbour's real pixels (Dirichlet), so the tile is pulled onto
them; h is solved in closed form in the sine/cosine bases of the problem (engine._poisson: each
edge's modes summed a block of lines at a time, about 1.1 ms a neighbour at T=512, to within
2e-3 of a grey level). What h must make up on
an edge is the mismatch between the real neighbour and the generator's version of it, split in two:
- the coherent part: the mismatch averaged over the 8 lines of the KEEP band next to the seam
  (a colour cast, a lighting gradient, a misplaced structure that crosses the seam), less the
  generator's own step between its KEEP band and its tile where that step is not one the real
  neighbour makes within itself (a generator that keeps the band but paints the tile in other
  colours leaves its seam there, and no band mismatch shows it). What is natural is learnt from
  14 virtual seams inside the neighbour (every 8 lines). The edge-wide mean of the own step is
  taken on the principal axes of the colour covariance of their edge-wide steps: a texture
  steps along its own colours (wood from light to dark brown), a colour error rarely does. On
  each axis it counts by the larger of a smooth garrote at 1.5 natural deviations and the
  Wiener share of an error as large as the two minor axes show (a tint stands out there, and is
  then removed on the texture's own axis too). What varies along the edge, smoothed over T/2,
  counts where above 1.5 times the nearest virtual seam's variation;
- the line-level rest: the real neighbour's seam line minus the tile's own first line, less the
  coherent part and less its own edge-wide mean (the coherent part's to judge), weighted by
  max(0, 1 - natural / its energy), both energies summed over RGB and averaged along the edge
  over 2 max(4, T/16) + 1 pixels, "natural" being the largest of the neighbour's own differences
  between consecutive lines over its first 8 pairs (a picture with an edge of its own near the
  seam may have one there too). Texture or a structure that does
  not continue across the seam stands above that and is pinned to the neighbour's pixels (the
  harmonic field lets fine detail go within a few pixels, so it is not smeared across the
  tile); a tile that does continue its neighbour is left alone (adding the neighbour's grain
  would be error).
The sum is the Dirichlet data; the correction is rounded into the tile once.
Edges without a neighbour are free. The correction there follows the plane fitted by least
squares to the KEEP mismatch (real minus the generator's version, over the low-pass blocks of
context drift), its slope kept where it explains more than it leaves (a garrote; a generator that
paints another picture has no trend to carry): h is that plane plus a harmonic field whose normal
derivative is zero at a free edge (Neumann, vertex-centred: h[-1] = h[1]). A colour cast's plane
is flat, so its correction carries across the tile at its own level instead of being dragged to
zero (pinning a free edge to the generator's own values leaves half a cast in the free half of a
tile with one neighbour), nor to the transparent black of the empty cells; a lighting gradient's
plane goes on rising across the tile, as the error does, instead of stopping at the seam's level.
The generator's content and gradients at a free edge are kept, shifted by that smooth correction
only. A tile without neighbours is returned as generated.

The offset method (method="offset", cheaper, the previous default): per neighboured edge, the
low-frequency offset real minus generated on the KEEP band, added to the tile and faded to zero at
its centre with a cosine ramp; edges without a neighbour get nothing.

The seam score (lower is better; about 1 is as visible as the neighbour's own texture). Per
edge with a neighbour, at band widths w = 1, 4 and 16 lines: the step across the seam, the mean
of the w tile lines minus the mean of the w neighbour lines, less what a steady gradient through
the seam would put there (for w = 1 and 4, each side's trend over 2w lines extrapolated to the
seam line; for w = 16, the neighbour's own gradient at the seam times 16, so that a smooth but
curved picture leaves little while a tint that ramps up inside the tile still counts); smoothed
along the edge over max(9, 2w + 1) pixels (a seam is seen along its length, one pixel's grain is
not a seam); its mean absolute value divided by the neighbour's own variation near the edge (the
mean absolute difference between its first four lines, at least 2 grey levels: a busy neighbour
hides a step, a flat sky shows it). The edge's score is the mean over the three widths plus a
smear term, ln(fine detail of the neighbour's 4 lines / fine detail of the tile's 4 lines) where
positive, so that blurring the border does not pass for a good seam. The tile's score is its WORST
edge's (an average would dilute one bad edge), 0.0 without neighbours.

Context drift (grey levels), computed before any correction: how far the generator's version of
the KEEP pixels is from the real ones at low frequency, the mean absolute difference of RGB block
means over blocks of about T/16 (the largest divisor of T/2 not above T/16) that lie in KEEP
pixels; 0.0 without them. A generator that paints what it was given drifts by its colour error
(a few levels); one that ignores its context drifts by the difference between two pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from engine._bands import inner_band, neighboured_edges, outer_band
from engine._pixels import Output, check_image, check_tile_size
from engine._poisson import harmonic_correction
from engine._seam_score import KeepBlocks, box_mean, context_drift, keep_blocks, seam_score, step_at_seam
from engine.context import cut_tile

__all__ = ["SeamResult", "Method", "METHODS", "correct_seams", "seam_score", "context_drift"]

Method = Literal["poisson", "offset"]
METHODS: tuple[Method, ...] = ("poisson", "offset")


@dataclass(frozen=True, eq=False)
class SeamResult:
    """What correct_seams returns: the new opaque RGBA tile and two figures for the record."""

    tile: np.ndarray  # (T, T, 4) uint8, opaque
    seam_score: float  # how visible the corrected tile's seams are, worst edge (see the module)
    context_drift: float  # how far the generator strayed from the KEEP pixels (see the module)


def correct_seams(
    generated: np.ndarray,
    context: np.ndarray,
    tile_size: int,
    *,
    method: Method = "poisson",
    out: np.ndarray | Output | None = None,
) -> SeamResult:
    """Cut the new tile from `generated` (2T x 2T, RGB or RGBA) with its seams corrected against
    `context`'s KEEP pixels by `method` (the tile written into `out` when given: see Output); see
    the module docstring."""
    check_tile_size(tile_size)
    check_image(context, 2 * tile_size, "context")
    if method not in METHODS:
        raise ValueError(f"seam method must be one of {METHODS}, got {method!r}")
    tile = cut_tile(generated, tile_size, out=out)
    blocks = keep_blocks(generated, context, tile_size)
    edges = neighboured_edges(context, tile_size)
    if not edges:
        return SeamResult(tile, 0.0, blocks.drift())
    if method == "poisson":
        _blend(tile, generated, context, tile_size, edges, blocks)
    else:
        _apply(tile, _profiles(generated, context, tile_size, edges), tile_size)
    return SeamResult(tile, seam_score(tile, context, tile_size), blocks.drift())


# --- the gradient-domain blend ------------------------------------------------------------------

_COHERENT_LINES = 8  # KEEP lines over which the mismatch is averaged into the Dirichlet data
_OWN_STEP_LINES = 4  # band width at which the generator's own step is measured
_OWN_STEP_SIGNIFICANCE = 1.5  # ... and counted where above this many times the natural steps
_NATURAL_SAMPLES = 14  # virtual seams inside the neighbour whose steps say what is natural
_COLOUR_FLOOR = 0.5  # grey levels: the least natural variation credited to any colour direction
_DETAIL_PAIRS = 8  # neighbour line pairs whose differences say what fine mismatch is natural
_DETAIL_SIGNIFICANCE = 1.0  # the tile's fine mismatch counts where above this many times that
_TREND_SIGNIFICANCE = 0.5  # the KEEP mismatch's slope counts where it explains this many times its rest


def _garrote(values: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """A smooth gate (a non-negative garrote): values near the threshold count little, large ones fully."""
    return values * np.maximum(0.0, 1.0 - (threshold / np.maximum(np.abs(values), 1e-9)) ** 2)


def _own_step(
    painted: np.ndarray, inside: np.ndarray, real: np.ndarray, line_means: np.ndarray, lines: int
) -> np.ndarray:
    """The part of the generator's own step between its KEEP band and its tile, (T, 3), that the
    real neighbour's own steps do not explain (see the module). `real` holds the neighbour's
    first 4 x `lines` lines, `line_means` the edge-wide means of its lines, as deep as it goes."""
    own = step_at_seam(painted, inside, lines)
    own_mean = own.mean(axis=0)
    # A step's edge-wide mean is the step of the lines' edge-wide means: every virtual seam (one
    # every 2 x `lines` lines) from the means of the bands of `lines` lines, as step_at_seam takes
    # them: each side's near band x 1.5 less its far band x 0.5, the deeper side subtracted.
    bands = line_means[: line_means.shape[0] // lines * lines].reshape(-1, lines, 3).mean(axis=1)
    seams = np.arange(2, bands.shape[0] - 1, 2)  # the band just past each virtual seam
    natural_means = (1.5 * bands[seams - 1] - 0.5 * bands[seams - 2]) - (1.5 * bands[seams] - 0.5 * bands[seams + 1])
    covariance = natural_means.T @ natural_means / len(natural_means) + _COLOUR_FLOOR**2 * np.eye(3)
    variances, directions = np.linalg.eigh(covariance)  # the natural steps' colour axes, minor first
    along = directions.T @ own_mean
    # Along each axis, the larger of two shares: a garrote on the step's distance in natural
    # deviations, and the Wiener share of an error whose size the two minor axes (the colours the
    # texture hardly steps in) reveal: a tint is seen there, and then taken on every axis.
    gated = _garrote(along, _OWN_STEP_SIGNIFICANCE * np.sqrt(variances))
    error_variance = max(0.0, float(np.mean(np.square(along[:2]) - _OWN_STEP_SIGNIFICANCE**2 * variances[:2])))
    wiener = along * error_variance / (error_variance + variances)
    kept = directions @ np.where(np.abs(gated) >= np.abs(wiener), gated, wiener)
    # What varies along the edge, smoothed, against the nearest virtual seam's own variation.
    width = 2 * max(1, own.shape[0] // 4) + 1
    nearest = step_at_seam(real[2 * lines :], real[2 * lines - 1 :: -1], lines)
    varying = box_mean(own - own_mean, width, passes=3)
    natural_varying = box_mean(nearest - nearest.mean(axis=0), width, passes=3)
    return kept + _garrote(varying, _OWN_STEP_SIGNIFICANCE * float(np.abs(natural_varying).mean()))


def _edge_data(generated: np.ndarray, context: np.ndarray, tile_size: int, edge: str) -> np.ndarray:
    """For one neighboured edge: the (3, T) float32 Dirichlet data of the correction."""
    half = tile_size // 2
    lines = min(_OWN_STEP_LINES, tile_size // 8)
    coherent = min(_COHERENT_LINES, half)
    near = min(max(coherent, 4 * lines, _DETAIL_PAIRS + 1, 2), half)  # lines read in full
    real = np.ascontiguousarray(outer_band(context, tile_size, edge, near)[..., :3], dtype=np.float64)
    painted = np.ascontiguousarray(outer_band(generated, tile_size, edge, near)[..., :3], dtype=np.float64)
    inside = inner_band(generated[half : half + tile_size, half : half + tile_size, :3], edge, max(2 * lines, 1))
    inside = np.ascontiguousarray(inside, dtype=np.float64)  # the means below would read strided uint8
    coarse = (real[:coherent] - painted[:coherent]).mean(axis=0)
    if lines:
        deep = outer_band(context, tile_size, edge, min(2 * lines * (_NATURAL_SAMPLES + 1), half))[..., :3]
        # An edge-wide mean from every (T/128)th pixel along the edge: a quarter of the reads at T=512.
        # Exact integer sums through einsum: a top or bottom edge's lines are rows, which mean()
        # reduces three bytes at a time (0.22 against 0.11 ms at T=512; a left edge's 0.06 either way).
        sampled = deep[:, :: max(1, tile_size // 128)]
        line_means = np.einsum("lpc->lc", sampled, dtype=np.uint32) / sampled.shape[1]
        coarse = coarse - _own_step(painted, inside, real, line_means, lines)
    # The line-level rest: the tile's own first line against the neighbour's, beyond what the
    # coherent part explains, so that structure and texture meet the neighbour's pixels at the
    # seam; counted (a garrote on local energy) where it stands out from the neighbour's own
    # line-to-line differences, which a true continuation has as well.
    fine = real[0] - inside[0] - coarse
    fine -= fine.mean(axis=0)  # the edge-wide step is the coherent part's to judge
    reach = 2 * max(4, tile_size // 16) + 1
    energy = box_mean(np.square(fine).sum(axis=1), reach)
    pairs = min(_DETAIL_PAIRS, near - 1)
    natural = np.square(real[1 : pairs + 1] - real[:pairs]).sum(axis=2) if pairs else np.zeros((1, tile_size))
    natural_energy = box_mean(natural.T, reach).max(axis=1)  # the largest the neighbour makes
    gain = np.clip(1.0 - _DETAIL_SIGNIFICANCE * natural_energy / np.maximum(energy, 1e-9), 0.0, 1.0)
    return (coarse + fine * gain[:, None]).T.astype(np.float32)


def _mismatch_trend(blocks: KeepBlocks, tile_size: int) -> np.ndarray:
    """(3, 3): per channel, the plane a + b x + c y (x, y in tiles from the tile's top-left pixel)
    fitted by least squares to the KEEP mismatch, real minus painted, over the KEEP blocks; its
    slope kept only where it stands out from what the plane leaves unexplained (a generator that
    paints another picture has a mismatch with no trend worth carrying across the tile)."""
    x, y = blocks.cols / tile_size, blocks.rows / tile_size
    design = np.stack([np.ones_like(x), x, y], axis=1)
    mismatch = blocks.real - blocks.painted
    solution, *_ = np.linalg.lstsq(design, mismatch, rcond=None)
    rest = np.sqrt(np.mean(np.square(mismatch - design @ solution), axis=0))  # (3,)
    explained = np.std(design[:, 1:] @ solution[1:], axis=0)  # what the slope explains, (3,)
    solution[1:] *= _garrote(explained, _TREND_SIGNIFICANCE * rest) / np.maximum(explained, 1e-9)
    return solution.T


def _plane(trend: np.ndarray, rows: np.ndarray, cols: np.ndarray, tile_size: int) -> np.ndarray:
    """The trend's planes along one line of pixels (rows, cols of equal length): (3, length)."""
    return trend[:, :1] + trend[:, 1:2] * (cols / tile_size) + trend[:, 2:3] * (rows / tile_size)


_GHOST_LINES = {  # (rows, cols) of an edge's ghost line, from the positions 0..T-1 along it
    "left": lambda along, t: (along, np.full(t, -1)),
    "right": lambda along, t: (along, np.full(t, t)),
    "top": lambda along, t: (np.full(t, -1), along),
    "bottom": lambda along, t: (np.full(t, t), along),
}


def _blend(
    tile: np.ndarray, generated: np.ndarray, context: np.ndarray, tile_size: int, edges: list[str], blocks: KeepBlocks
) -> None:
    """Replace `tile`'s RGB by the generated tile plus the correction, rounded once."""
    data = {edge: _edge_data(generated, context, tile_size, edge) for edge in edges}
    # A plane is harmonic, so it changes the field only through the free edges' condition: with
    # every edge neighboured, or no slope, the correction is the same without it.
    trend = _mismatch_trend(blocks, tile_size) if len(edges) < 4 else None
    if trend is not None and not trend[:, 1:].any():
        trend = None
    along = np.arange(tile_size)
    if trend is not None:
        for edge in edges:
            data[edge] = data[edge] - _plane(trend, *_GHOST_LINES[edge](along, tile_size), tile_size)
    field = harmonic_correction(data, tile_size)  # (3, T, T)
    position = (along / tile_size).astype(np.float32)
    # A channel at a time: each pass then reads and writes one plane while it is in the cache.
    for channel, correction in enumerate(field):
        if trend is not None:  # the field was the correction less the plane
            a, b, c = trend[channel]
            correction += (a + b * position).astype(np.float32)  # a + b x, along each row
            correction += (c * position[:, None]).astype(np.float32)  # + c y
        rgb = tile[..., channel]
        correction += rgb
        np.rint(correction, out=correction)
        np.clip(correction, 0, 255, out=correction)
        np.copyto(rgb, correction, casting="unsafe")


# --- the offset method --------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _ramp(tile_size: int) -> np.ndarray:
    """Weight 1 at the border falling smoothly to 0 at the tile's centre, length T/2, float32."""
    half = tile_size // 2
    distance = np.arange(half, dtype=np.float64) / half
    ramp = (0.5 * (1.0 + np.cos(np.pi * distance))).astype(np.float32)
    ramp.flags.writeable = False  # cached and shared between calls
    return ramp


def _smooth(profile: np.ndarray, width: int, passes: int = 3) -> np.ndarray:
    """Repeated box blur along axis 0 (close to a Gaussian), reflecting at the ends."""
    radius = width // 2
    width = 2 * radius + 1
    for _ in range(passes):
        padded = np.pad(profile, ((radius, radius), (0, 0)), mode="reflect")
        sums = np.cumsum(padded, axis=0, dtype=np.float64)
        sums = np.concatenate([np.zeros((1, sums.shape[1])), sums])
        profile = (sums[width:] - sums[:-width]) / width
    return profile.astype(np.float32)


def _profiles(generated: np.ndarray, context: np.ndarray, tile_size: int, edges: list[str]) -> dict[str, np.ndarray]:
    """Per neighboured edge: the smoothed (T, 3) offset real minus generated along that edge."""
    half = tile_size // 2
    depth = min(half, max(2, tile_size // 64))
    blur = min(tile_size // 8, half - 1) if tile_size >= 8 else 0
    profiles = {}
    for edge in edges:
        real = outer_band(context, tile_size, edge, depth)[..., :3].astype(np.int16)
        painted = outer_band(generated, tile_size, edge, depth)[..., :3]
        offset = (real - painted).mean(axis=0, dtype=np.float32)
        profiles[edge] = _smooth(offset, blur) if blur >= 3 else offset
    return profiles


def _apply(tile: np.ndarray, profiles: dict[str, np.ndarray], tile_size: int) -> None:
    """Add the faded per-edge corrections to `tile`'s RGB in place, a block of rows at a time."""
    half = tile_size // 2
    ramp = _ramp(tile_size)
    zero = np.zeros((tile_size, 3), dtype=np.float32)
    left, right = profiles.get("left", zero).T, profiles.get("right", zero).T

    def horizontal(row: int) -> np.ndarray:
        """The left/right blend along one row; the top and bottom edges add what it leaves missing."""
        return np.concatenate([left[:, row, None] * ramp, right[:, row, None] * ramp[::-1]], axis=1)

    vertical = [
        (profiles[edge].T - horizontal(row), weights)
        for edge, row, weights in (
            ("top", 0, np.concatenate([ramp, np.zeros(half, np.float32)])),
            ("bottom", -1, np.concatenate([np.zeros(half, np.float32), ramp[::-1]])),
        )
        if edge in profiles
    ]
    # Blocks of about 32k pixels keep the float32 work buffer in cache and reuse its pages;
    # the buffer is channel-planar (3, rows, T) so every broadcast runs along contiguous rows.
    block = max(1, 32768 // tile_size)
    buffer = np.empty((3, block, tile_size), dtype=np.float32)
    planar_rgb = np.moveaxis(tile[..., :3], 2, 0)
    for top in range(0, tile_size, block):
        rows = slice(top, min(top + block, tile_size))
        work = buffer[:, : rows.stop - top]
        np.multiply(left[:, rows, None], ramp, out=work[:, :, :half])
        np.multiply(right[:, rows, None], ramp[::-1], out=work[:, :, half:])
        for missing, weights in vertical:
            if weights[rows].any():
                work += missing[:, None, :] * weights[rows][None, :, None]
        work += planar_rgb[:, rows]
        np.rint(work, out=work)
        np.clip(work, 0, 255, out=work)
        np.copyto(planar_rgb[:, rows], work, casting="unsafe")
