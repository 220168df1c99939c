"""The offline, deterministic generator (`GENERATOR=mock`, the default).

The same (context, prompt, seed) always gives the same bytes. Knobs for demos and tests:
- `delay_ms` spreads a sleep over its three progress reports (1/3, 2/3, 1); at 0 the reports come
  in one burst, without yielding between them, as from a generator faster than the loop;
- `fail_rate` (0..1) fails with GeneratorError after the first report, decided by
  `random.Random(seed)`, so a given seed always fails or always succeeds;
- a prompt containing the token `[refuse]` is refused (GeneratorRefused), like a content policy.
"""

from __future__ import annotations

import asyncio
import random

import numpy as np

from engine._pixels import Output
from engine.errors import GeneratorError, GeneratorRefused, GeneratorTimeout
from engine.generators._mock_paint import paint
from engine.generators.base import Offload, ProgressCallback, tile_size_of

__all__ = ["MockGenerator", "REFUSE_TOKEN"]

REFUSE_TOKEN = "[refuse]"
_STAGES = (1 / 3, 2 / 3, 1.0)


class MockGenerator:
    name = "mock"

    def __init__(
        self, delay_ms: int = 0, fail_rate: float = 0.0, timeout: float = 60.0, *, offload: Offload = asyncio.to_thread
    ) -> None:
        if delay_ms < 0 or not 0.0 <= fail_rate <= 1.0 or timeout <= 0:
            raise ValueError("need delay_ms >= 0, 0 <= fail_rate <= 1 and timeout > 0")
        self.offload = offload
        self.delay_ms = delay_ms
        self.fail_rate = fail_rate
        self.timeout = timeout

    async def aclose(self) -> None:
        """Nothing to release; here to satisfy the Generator interface."""

    async def check(self) -> None:
        """Always ready: the mock needs nothing outside the process."""

    async def generate(
        self,
        context: np.ndarray,
        prompt: str,
        *,
        seed: int,
        on_progress: ProgressCallback | None = None,
        safety_identifier: str | None = None,
    ) -> np.ndarray:
        tile_size_of(context)
        if REFUSE_TOKEN in prompt:
            raise GeneratorRefused(f"the prompt contains {REFUSE_TOKEN}")
        # random() < 1.0 always holds and < 0.0 never does, so the rates 1 and 0 are exact.
        fails = random.Random(seed).random() < self.fail_rate
        try:
            async with asyncio.timeout(self.timeout):
                # Painting a 2048 px window takes tens of milliseconds: keep it off the event loop.
                painting = await self.offload(paint, context, prompt, seed, out=Output(context.shape))
                for stage, (fraction, preview) in enumerate(zip(_STAGES, painting.previews, strict=True)):
                    if self.delay_ms:
                        await asyncio.sleep(self.delay_ms / 1000 / len(_STAGES))
                    if fails and stage == 1:
                        raise GeneratorError(f"mock failure for seed {seed} (fail_rate {self.fail_rate})")
                    if on_progress is not None:
                        await on_progress(fraction, preview)
        except TimeoutError as exc:
            raise GeneratorTimeout(f"mock generator exceeded its {self.timeout} s deadline") from exc
        return painting.image
