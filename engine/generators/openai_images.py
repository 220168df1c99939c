"""The OpenAI images-edit generator (`GENERATOR=openai`).

One streamed edit per attempt: the context window as the image, a separate alpha-only mask, the
exact window size where the model accepts it (`_openai_pixels.py`), `background="opaque"`,
`output_format="png"`, `n=1` and a `safety_identifier` the server derives from the player. Each
partial image the API streams becomes a progress report with a small preview; the completed event
is the result. 429, 5xx and connection failures are retried after `Retry-After` (or a backoff)
while the step's deadline still leaves room for a whole generation; the deadline itself is never
overrun. The API has no seed, so `seed` is ignored and a retry paints something new. The SDK is
imported lazily so that the engine loads without it when the mock is used.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import time
from collections import deque
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from engine._pixels import Output
from engine.errors import GeneratorBadOutput, GeneratorError, GeneratorFailure, GeneratorTimeout, GeneratorUnavailable
from engine.generators._openai_errors import Mapped, map_openai_error
from engine.generators._openai_pixels import EditRequest, decode_answer, encode_request, preview_of, request_side
from engine.generators.base import Offload, ProgressCallback, tile_size_of

__all__ = ["OpenAIGenerator", "DEFAULT_MODEL"]

# The SDK (openai 3.57, types/image_model.py) names gpt-image-2.5-flare and -sunburst as the
# successors of gpt-image-1, shut down on 2026-10-23; flare is the faster of the two.
DEFAULT_MODEL = "gpt-image-2.5-flare"
# How long a model check (or an alarm raised by a generation) holds before /readyz asks again.
CHECK_SECONDS = 60.0
_CHECK_TIMEOUT = 2.5  # under /readyz's 3 s per check: a slow models endpoint is not a down model
_BACKOFF_FIRST, _BACKOFF_MAX = 0.25, 8.0
# A stream cut short says nothing of the API's load: retried at once.
_ENDED_EARLY = Mapped(GeneratorError("the images API's stream ended without an image"), True, 0.0)


class _Pace:
    """How long a whole generation takes: the slowest of the last few that succeeded, or a
    quarter of the deadline before the first. A retry starts only if that much time is left."""

    def __init__(self, initial: float) -> None:
        self.initial = initial
        self.recent: deque[float] = deque(maxlen=8)

    def expected(self) -> float:
        return max(self.recent, default=self.initial)


def _decoded(b64: str | None) -> bytes:
    if not b64:
        raise GeneratorBadOutput("the images API returned no image")
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GeneratorBadOutput("the images API returned an image that is not base64") from exc


class OpenAIGenerator:
    name = "openai"

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = 60.0,
        *,
        quality: str | None = None,
        complexity: str | None = None,
        max_side: int = 2048,
        partial_images: int = 2,
        offload: Offload = asyncio.to_thread,
    ) -> None:
        from openai import AsyncOpenAI

        if timeout <= 0 or not 0 <= partial_images <= 3:
            raise ValueError("need timeout > 0 and 0 <= partial_images <= 3")
        self.offload = offload
        self.model = model
        self.timeout = timeout
        self.max_side = max_side
        self.partial_images = partial_images
        self._options = {
            name: value for name, value in (("quality", quality), ("complexity", complexity)) if value is not None
        }
        self._pace = _Pace(timeout / 4)
        self._problem: GeneratorUnavailable | None = None
        self._checked_at: float | None = None
        # No SDK retries: generate() retries itself, within the step's deadline.
        self._client = AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    async def aclose(self) -> None:
        await self._client.close()

    async def check(self) -> None:
        """Raises GeneratorUnavailable when the key is refused or the model is unknown or shut
        down (asked of the models endpoint at most every CHECK_SECONDS). A transient failure of
        that endpoint says nothing about the model and passes."""
        if self._checked_at is not None and time.monotonic() - self._checked_at < CHECK_SECONDS:
            if self._problem is not None:
                raise self._problem
            return
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT):
                model = await self._client.models.retrieve(self.model)
        except Exception as exc:  # mapped below: only an alarm counts
            mapped = map_openai_error(exc, self.model)
            if mapped is None or not isinstance(mapped.failure, GeneratorUnavailable):
                return
            self._remember(mapped.failure)
            raise mapped.failure from exc
        shutdown = _shutdown_date(model.shutdown_date)
        if shutdown is not None and shutdown <= datetime.now(UTC).date():
            gone = GeneratorUnavailable(f"the model {self.model!r} was shut down on {shutdown}: set OPENAI_MODEL")
            self._remember(gone)
            raise gone
        self._remember(None)

    def _remember(self, problem: GeneratorUnavailable | None) -> None:
        self._problem, self._checked_at = problem, time.monotonic()

    async def generate(
        self,
        context: np.ndarray,
        prompt: str,
        *,
        seed: int,
        on_progress: ProgressCallback | None = None,
        safety_identifier: str | None = None,
    ) -> np.ndarray:
        window = 2 * tile_size_of(context)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                request = await self.offload(encode_request, context, request_side(window, self.max_side))
                image = await self._with_retries(request, prompt, safety_identifier, on_progress, deadline)
        except TimeoutError as exc:
            raise GeneratorTimeout(f"no image from the images API within {self.timeout} s") from exc
        if self._problem is not None:
            self._remember(None)  # it works again: the alarm clears
        if on_progress is not None:
            await on_progress(1.0, image[:: max(1, window // 64), :: max(1, window // 64)])
        return image

    async def _with_retries(
        self,
        request: EditRequest,
        prompt: str,
        safety_identifier: str | None,
        on_progress: ProgressCallback | None,
        deadline: float,
    ) -> np.ndarray:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            started = loop.time()
            answer = await self._attempt(request, prompt, safety_identifier, on_progress)
            if isinstance(answer, bytes):
                window = Output((request.window, request.window, 4))
                image = await self.offload(decode_answer, answer, request, out=window)
                self._pace.recent.append(loop.time() - started)
                return image
            wait = answer.retry_after
            if wait is None:
                wait = min(_BACKOFF_MAX, _BACKOFF_FIRST * 2**attempt) * random.uniform(0.8, 1.2)
            if not answer.retryable or loop.time() + wait + self._pace.expected() > deadline:
                if isinstance(answer.failure, GeneratorUnavailable):
                    self._remember(answer.failure)
                raise answer.failure
            await asyncio.sleep(wait)
            attempt += 1

    async def _attempt(
        self, request: EditRequest, prompt: str, safety_identifier: str | None, on_progress: ProgressCallback | None
    ) -> bytes | Mapped:
        """One streamed edit: the final PNG's bytes, or what went wrong and whether to retry."""
        options: dict[str, Any] = dict(self._options)
        if safety_identifier:
            options["safety_identifier"] = safety_identifier
        try:
            stream = await self._client.images.edit(
                model=self.model,
                image=("context.png", request.image, "image/png"),
                mask=("mask.png", request.mask, "image/png"),
                prompt=prompt,
                size=f"{request.side}x{request.side}",
                n=1,
                background="opaque",
                output_format="png",
                stream=True,
                partial_images=self.partial_images,
                **options,
            )
            async with stream:
                async for event in stream:
                    if event.type == "image_edit.completed":
                        return _decoded(event.b64_json)
                    if event.type == "image_edit.partial_image" and on_progress is not None:
                        preview = await self.offload(_preview, event.b64_json)
                        fraction = (event.partial_image_index + 1) / (self.partial_images + 1)
                        await on_progress(min(fraction, 0.99), preview)
        except GeneratorFailure:
            raise
        except Exception as exc:
            mapped = map_openai_error(exc, self.model)
            if mapped is None:
                raise
            return mapped
        return _ENDED_EARLY


def _preview(b64: str) -> np.ndarray | None:
    """A partial image's preview; None for one that does not decode (a courtesy, never a failure)."""
    try:
        return preview_of(base64.b64decode(b64, validate=True))
    except (binascii.Error, ValueError):
        return None


def _shutdown_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
