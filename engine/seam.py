"""Seam correction of a new tile against its existing neighbours, and the seam score.

A generator repaints the KEEP band a little differently from the real neighbours (a shifted
colour, a brighter sky), and the new tile inherits that shift, so its borders show. We measure
the shift per edge on the KEEP band (real minus generated, averaged across the band and heavily
blurred along the edge, so only low frequencies are corrected) and add it to the new tile, faded
to zero at the tile's centre with a cosine ramp. Left and right edges are blended first; top and
bottom then add what is still missing on their own edge (a Coons-patch style blend), so each edge
gets its own profile, and at the corners the top and bottom estimates win. Edges without a
neighbour get no correction. The context is only read: existing tiles cannot change here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from engine._pixels import OPAQUE, check_image, check_tile_size
from engine.context import cut_tile

__all__ = ["correct_seams", "seam_score"]

_EDGES = ("left", "right", "top", "bottom")
_TEXTURE_LINES = 4  # lines on each side of a border that sample the images' own gradient
_MIN_TEXTURE = 1.0  # a flat image still has one grey level of texture, so the score stays finite


def _outer_band(window: np.ndarray, tile_size: int, edge: str, depth: int) -> np.ndarray:
    """The `depth` lines of a 2T window just outside the tile's `edge`, (depth, T, C), line 0 at the seam."""
    half, end = tile_size // 2, tile_size // 2 + tile_size
    if edge == "left":
        return window[half:end, half - depth : half][:, ::-1].swapaxes(0, 1)
    if edge == "right":
        return window[half:end, end : end + depth].swapaxes(0, 1)
    if edge == "top":
        return window[half - depth : half, half:end][::-1]
    return window[end : end + depth, half:end]


def _inner_band(tile: np.ndarray, edge: str, depth: int) -> np.ndarray:
    """The `depth` outermost lines of a tile along `edge`, (depth, T, C), line 0 at the seam."""
    if edge == "left":
        return tile[:, :depth].swapaxes(0, 1)
    if edge == "right":
        return tile[:, ::-1][:, :depth].swapaxes(0, 1)
    if edge == "top":
        return tile[:depth]
    return tile[::-1][:depth]


def _neighboured_edges(context: np.ndarray, tile_size: int) -> list[str]:
    return [e for e in _EDGES if (_outer_band(context, tile_size, e, 1)[0, :, 3] == OPAQUE).all()]


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


def _profiles(generated: np.ndarray, context: np.ndarray, tile_size: int) -> dict[str, np.ndarray]:
    """Per neighboured edge: the smoothed (T, 3) offset real minus generated along that edge."""
    half = tile_size // 2
    depth = min(half, max(2, tile_size // 64))
    blur = min(tile_size // 8, half - 1) if tile_size >= 8 else 0
    profiles = {}
    for edge in _neighboured_edges(context, tile_size):
        real = _outer_band(context, tile_size, edge, depth)[..., :3].astype(np.int16)
        painted = _outer_band(generated, tile_size, edge, depth)[..., :3]
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


def correct_seams(generated: np.ndarray, context: np.ndarray, tile_size: int) -> tuple[np.ndarray, float]:
    """Cut the new tile from `generated` with its seams corrected; returns (tile, its seam score)."""
    check_tile_size(tile_size)
    check_image(context, 2 * tile_size, "context")
    tile = cut_tile(generated, tile_size)
    profiles = _profiles(generated, context, tile_size)
    if not profiles:
        return tile, 0.0
    _apply(tile, profiles, tile_size)
    return tile, seam_score(tile, context, tile_size)


def seam_score(tile: np.ndarray, context: np.ndarray, tile_size: int) -> float:
    """How visible the tile's borders are against its neighbours; about 1 is as visible as texture.

    Per neighboured edge: mean absolute RGB difference across the border, divided by the mean
    absolute difference between adjacent lines just inside the tile and the neighbour (at least
    1). The score is the mean over those edges, and 0.0 when the tile has no neighbour.
    """
    check_tile_size(tile_size)
    check_image(tile, tile_size, "tile")
    check_image(context, 2 * tile_size, "context")
    depth = min(tile_size // 2, _TEXTURE_LINES)
    scores = []
    for edge in _neighboured_edges(context, tile_size):
        outside = _outer_band(context, tile_size, edge, depth)[..., :3].astype(np.int16)
        inside = _inner_band(tile, edge, depth)[..., :3].astype(np.int16)
        across = np.abs(outside[0] - inside[0]).mean()
        texture = 0.0
        if depth > 1:
            texture = (np.abs(np.diff(outside, axis=0)).mean() + np.abs(np.diff(inside, axis=0)).mean()) / 2
        scores.append(across / max(texture, _MIN_TEXTURE))
    return float(np.mean(scores)) if scores else 0.0
