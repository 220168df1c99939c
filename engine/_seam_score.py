"""The seam score and the context drift (private: engine.seam documents and exports them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine._bands import inner_band, neighboured_edges, outer_band
from engine._pixels import OPAQUE, check_image, check_tile_size

__all__ = ["seam_score", "edge_scores", "context_drift", "keep_blocks", "KeepBlocks", "box_mean", "step_at_seam"]

SCALES = (1, 4, 16)  # band widths, in lines, at which a step across a seam is measured
_MIN_SMOOTHING = 9  # pixels along the edge: a single pixel's grain is not a seam
_TEXTURE_LINES = 4  # lines on each side whose pixel-to-pixel variation is "texture"
_SLOPE_LINES = 4  # lines each side from which the gradient at the seam is taken
_FLOOR = 2.0  # grey levels: the least texture an edge is credited with, so flat skies stay finite
_TEXTURE_FLOOR = 0.5  # grey levels of fine detail below which a band counts as flat


def box_mean(values: np.ndarray, width: int, passes: int = 1) -> np.ndarray:
    """`passes` box means of `width` (made odd) along axis 0, ends reflected; float64."""
    values = np.asarray(values, dtype=np.float64)
    radius = min(width // 2, values.shape[0] - 1)
    if radius < 1:
        return values
    width = 2 * radius + 1
    for _ in range(passes):
        # Reflected about the end samples (numpy's "reflect"), built directly: np.pad's overhead
        # was most of this function's time on these short profiles.
        padded = np.concatenate([values[radius:0:-1], values, values[-2 : -radius - 2 : -1]])
        sums = np.cumsum(padded, axis=0)
        sums = np.concatenate([np.zeros((1, *sums.shape[1:])), sums])
        values = (sums[width:] - sums[:-width]) / width
    return values


def step_at_seam(outside: np.ndarray, inside: np.ndarray, lines: int) -> np.ndarray:
    """The step between two bands of lines (line 0 at the seam on both sides, (depth, T, C)):
    each side's trend over 2 x `lines` lines (the means of two bands of `lines`) extrapolated to
    the seam, inside minus outside; (T, C). A steady gradient across the seam gives zero."""

    def at_seam(band: np.ndarray) -> np.ndarray:
        near = band[:lines].mean(axis=0, dtype=np.float64)
        far = band[lines : 2 * lines].mean(axis=0, dtype=np.float64)
        return 1.5 * near - 0.5 * far

    return at_seam(inside) - at_seam(outside)


def _step_at_scale(outside: np.ndarray, inside: np.ndarray, width: int) -> np.ndarray:
    """The step at width w: the difference of the w-line band means across the seam, less the
    neighbour's gradient at the seam (from its two bands of 4 lines) times w; for w <= 4 the same
    as step_at_seam. A curved but smooth picture leaves little; a tint that ramps up inside the
    tile does not pass for a gradient."""
    lines = min(width, _SLOPE_LINES)
    if width == lines:
        return step_at_seam(outside, inside, width)
    near = outside[:lines].mean(axis=0, dtype=np.float64)
    far = outside[lines : 2 * lines].mean(axis=0, dtype=np.float64)
    slope = (near - far) / lines  # the neighbour's only: a ramp inside the tile is a tint
    band = inside[:width].mean(axis=0, dtype=np.float64) - outside[:width].mean(axis=0, dtype=np.float64)
    return band - width * slope


def _fine_detail(band: np.ndarray) -> float:
    """Mean absolute difference between a band's lines and their 5-pixel blur along the edge."""
    lines = np.asarray(band, dtype=np.float64).swapaxes(0, 1)  # (T, lines, C): blur along axis 0
    return float(np.abs(lines - box_mean(lines, 5)).mean())


def edge_scores(tile: np.ndarray, context: np.ndarray, tile_size: int) -> dict[str, float]:
    """The score of each neighboured edge (see engine.seam)."""
    half = tile_size // 2
    scores = {}
    for edge in neighboured_edges(context, tile_size):
        depth = min(half, 2 * max(SCALES))
        # One contiguous float copy of each band: the many means below over strided uint8 views
        # (a left or right band is a column of every row) cost several times more.
        outside = np.ascontiguousarray(outer_band(context, tile_size, edge, depth)[..., :3], dtype=np.float64)
        inside = np.ascontiguousarray(inner_band(tile, edge, depth)[..., :3], dtype=np.float64)
        lines = min(half, _TEXTURE_LINES)
        texture = np.abs(np.diff(outside[:lines], axis=0)).mean() if lines > 1 else 0.0
        norm = max(float(texture), _FLOOR)
        steps = []
        for width in [w for w in SCALES if 2 * w <= half] or [1]:
            width = min(width, half)
            if 2 * width <= half:
                step = _step_at_scale(outside, inside, width)
            else:  # a tile too small for two bands: the plain difference of the first lines
                step = inside[0].astype(np.float64) - outside[0]
            smoothed = box_mean(step, max(_MIN_SMOOTHING, 2 * width + 1))
            steps.append(float(np.abs(smoothed).mean()) / norm)
        detail_outside = max(_fine_detail(outside[:lines]), _TEXTURE_FLOOR)
        detail_inside = max(_fine_detail(inside[:lines]), _TEXTURE_FLOOR)
        smear = max(0.0, float(np.log(detail_outside / detail_inside)))
        scores[edge] = float(np.mean(steps)) + smear
    return scores


def seam_score(tile: np.ndarray, context: np.ndarray, tile_size: int) -> float:
    """How visible `tile`'s seams are against its neighbours in `context` (see engine.seam):
    the score of its worst edge, 0.0 without neighbours."""
    check_tile_size(tile_size)
    check_image(tile, tile_size, "tile")
    check_image(context, 2 * tile_size, "context")
    scores = edge_scores(tile, context, tile_size)
    return max(scores.values()) if scores else 0.0


def _block(tile_size: int) -> int:
    """The side of the low-pass blocks: the largest divisor of T/2 not above max(1, T/16), so
    every block lies wholly inside or outside each half-tile of the window."""
    half = tile_size // 2
    return max(d for d in range(1, max(1, tile_size // 16) + 1) if half % d == 0)


@dataclass(frozen=True)
class KeepBlocks:
    """The low-pass blocks of a 2T window that lie wholly in KEEP pixels: their positions
    (row and column of each block's centre, in the tile's pixel coordinates, the tile's top-left
    pixel at 0) and the RGB means of the real context and of the generator's version (N, 3)."""

    rows: np.ndarray
    cols: np.ndarray
    real: np.ndarray
    painted: np.ndarray

    def drift(self) -> float:
        """The context drift: the mean absolute difference of the block means, 0.0 without blocks."""
        return float(np.abs(self.painted - self.real).mean()) if len(self.rows) else 0.0


def keep_blocks(generated: np.ndarray, context: np.ndarray, tile_size: int) -> KeepBlocks:
    """The KEEP blocks of `context` with both images' means (see KeepBlocks and context_drift)."""
    side = 2 * tile_size
    block = _block(tile_size)
    count = side // block
    # A block's mean from a grid of at most 8 x 8 of its pixels: the figures are about low
    # frequencies, and reading every pixel of a 2T window would cost more than the blend. Blocks
    # divide the window's half-tile cells, so a block whose grid is opaque lies in a KEEP cell.
    stride = max(d for d in range(1, max(1, block // 8) + 1) if block % d == 0)
    per_block = block // stride
    opaque = (context[::stride, ::stride, 3] == OPAQUE).view(np.uint8)
    # einsum's reduction over the two inner axes is twice as fast as all(axis=(1, 3)).
    keep = np.einsum("apbq->ab", opaque.reshape(count, per_block, count, per_block), dtype=np.uint32) == per_block**2
    rows, cols = np.nonzero(keep)
    if not len(rows):
        return KeepBlocks(np.zeros(0), np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
    sums: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for top, high, left, wide in _bands(keep):
        box = (slice(top * block, (top + high) * block, stride), slice(left * block, (left + wide) * block, stride))
        inside = (rows >= top) & (rows < top + high)
        for image, into in zip((context, generated), sums, strict=True):
            sample = image[box][..., :3]
            # Rows of blocks first, over whole lines: ten times faster than one 5D sum.
            lines = sample.reshape(high, per_block, wide * per_block * 3).sum(axis=1, dtype=np.uint32)
            band = np.einsum("hwpc->hwc", lines.reshape(high, wide, per_block, 3))
            into.append(band[rows[inside] - top, cols[inside] - left])
    real, painted = (np.concatenate(parts).astype(np.float64) / (per_block * per_block) for parts in sums)
    # The mean of a strided grid sits at the mean of its sample positions.
    centre = (per_block - 1) * stride / 2 - tile_size // 2
    return KeepBlocks(rows * block + centre, cols * block + centre, real, painted)


def _bands(keep: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, height, left, width) in blocks of the boxes that cover the KEEP blocks, one per run of
    block rows with the same first and last KEEP column: the neighbours above and the one to the
    left are two bands, where one box around both would sum as many blocks again that are not KEEP."""
    count = keep.shape[1]
    bands: list[tuple[int, int, int, int]] = []
    for row in np.flatnonzero(keep.any(axis=1)):
        left = int(keep[row].argmax())
        wide = count - int(keep[row, ::-1].argmax()) - left
        if bands and bands[-1][0] + bands[-1][1] == row and bands[-1][2:] == (left, wide):
            top, high, *_ = bands[-1]
            bands[-1] = (top, high + 1, left, wide)
        else:
            bands.append((int(row), 1, left, wide))
    return bands


def context_drift(generated: np.ndarray, context: np.ndarray, tile_size: int) -> float:
    """How far the generator's version of the KEEP pixels is from the real ones at low frequency,
    in grey levels (see engine.seam); 0.0 when the context has no KEEP pixels."""
    check_tile_size(tile_size)
    check_image(context, 2 * tile_size, "context")
    check_image(generated, 2 * tile_size, "generated image", channels=(3, 4))
    return keep_blocks(generated, context, tile_size).drift()
