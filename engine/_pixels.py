"""Shared checks and copies for the pixel modules (private: callers use engine's API)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OPAQUE", "Output", "output_array", "check_tile_size", "check_image", "opaque_copy"]

OPAQUE = 255
# Viewing RGBA pixels as one uint32 each lets a single pass copy a pixel and force it opaque,
# about three times faster than copying RGB and then writing the strided alpha byte.
_ALPHA_BITS = np.array([0, 0, 0, OPAQUE], dtype=np.uint8).view(np.uint32)[0]


def opaque_copy(source: np.ndarray, target: np.ndarray) -> None:
    """Copy RGBA or RGB pixels of `source` into RGBA `target` with alpha forced to 255."""
    if source.shape[-1] == 4 and source.strides[-1] == 1 and target.strides[-1] == 1:
        np.bitwise_or(_pixels(source), _ALPHA_BITS, out=_pixels(target))
    else:
        target[..., :3] = source[..., :3]
        target[..., 3] = OPAQUE


def _pixels(rgba: np.ndarray) -> np.ndarray:
    """An (H, W) uint32 view of an (H, W, 4) uint8 array whose channels are adjacent bytes."""
    return rgba.view(np.uint32)[..., 0]


def check_tile_size(tile_size: int) -> int:
    """Return `tile_size` if the pixel functions can work with it (a positive even int)."""
    if not isinstance(tile_size, int) or tile_size < 2 or tile_size % 2:
        raise ValueError(f"tile size must be a positive even int, got {tile_size!r}")
    return tile_size


def check_image(image: np.ndarray, side: int, what: str, channels: tuple[int, ...] = (4,)) -> None:
    """Raise ValueError unless `image` is a side x side uint8 array with one of `channels`."""
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[:2] != (side, side)
        or image.shape[2] not in channels
    ):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"{what} must be uint8 ({side}, {side}, {channels}), got {got}")


@dataclass(frozen=True)
class Output:
    """Stands, as a function's `out` argument, for the uint8 array of `shape` it writes its result
    into. Whoever runs the function may put one in its place: a pixel worker process
    (server/play/pixel_workers.py) puts it in the shared memory the answer travels back in, so a
    window of megabytes is written once rather than written and then copied there. Passed as it
    is, it is a new array."""

    shape: tuple[int, ...]


def output_array(out: np.ndarray | Output | None, shape: tuple[int, ...]) -> np.ndarray:
    """The uint8 array of `shape` to write a result into: `out` itself, or a new one."""
    if isinstance(out, np.ndarray):
        if out.dtype != np.uint8 or out.shape != shape or not out.flags.writeable:
            raise ValueError(f"out must be a writeable uint8 {shape} array, got {out.dtype} {out.shape}")
        return out
    if out is not None and out.shape != shape:
        raise ValueError(f"out stands for a {out.shape} array, not {shape}")
    return np.empty(shape, dtype=np.uint8)
