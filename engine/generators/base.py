"""The one interface every image generator implements, and the checks they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import numpy as np

from engine._pixels import check_image, check_tile_size

__all__ = ["Generator", "ProgressCallback", "Offload", "tile_size_of"]

T = TypeVar("T")

ProgressCallback = Callable[[float, "np.ndarray | None"], Awaitable[None]]
"""Called with the fraction done (0..1) and, when there is one, a small RGB(A) preview array."""


class Offload(Protocol):
    """Runs a generator's image work (painting, request encoding, answer decoding, previews) off
    the event loop; alone, asyncio.to_thread. The server passes its pixel worker processes, shared
    with the seam correction: so the function must be module-level (pickled by name) and a pure
    function of its arguments, which reach it as copies. An argument that is an engine.Output may
    reach it as an array the runner placed (see engine/_pixels.py), or as it is."""

    def __call__(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Awaitable[T]: ...


class Generator(Protocol):
    """Paints the transparent part of a context window.

    `generate` takes the (2T, 2T, 4) uint8 RGBA context (alpha 255 = KEEP, 0 = paint) and returns
    a (2T, 2T, 4) uint8 RGBA image, or raises a GeneratorFailure (GeneratorTimeout once the
    provider's own deadline passes, GeneratorRefused, GeneratorBusy, GeneratorUnavailable,
    GeneratorError, GeneratorBadOutput: engine/errors.py).
    `on_progress` is awaited with fractions that increase to 1.0, from the same task.
    `safety_identifier` is an opaque, stable id of the player (never their email) that a provider
    may pass on for abuse monitoring.
    """

    name: str

    async def generate(
        self,
        context: np.ndarray,
        prompt: str,
        *,
        seed: int,
        on_progress: ProgressCallback | None = None,
        safety_identifier: str | None = None,
    ) -> np.ndarray: ...

    async def check(self) -> None:
        """Raises GeneratorUnavailable when the provider cannot serve at all (bad key, unknown or
        shut-down model): asked at start-up and by /readyz."""

    async def aclose(self) -> None:
        """Release connections; called once at shutdown."""


def tile_size_of(context: np.ndarray) -> int:
    """The tile size T of a (2T, 2T, 4) context window; ValueError if it is not one."""
    side = context.shape[0] if isinstance(context, np.ndarray) and context.ndim == 3 else 0
    tile_size = check_tile_size(side // 2)
    check_image(context, 2 * tile_size, "context")
    return tile_size
