"""The OpenAI images-edit generator (`GENERATOR=openai`).

One request per step: the context window, resized to the 1024 x 1024 the model accepts, goes as
both `image` and `mask` (its alpha is the mask: transparent means paint), and the returned PNG is
resized back to 2T x 2T. GPT image models return `b64_json`; we ask DALL-E models for it too, and
treat a response without it (a bare URL) as bad output rather than fetching from a second host.
The API has no seed, so `seed` is ignored and a retry paints something new. The SDK is imported
lazily so that the engine loads without it when the mock is used.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PIL import Image

from engine._pixels import opaque_copy
from engine.errors import (
    GeneratorBadOutput,
    GeneratorError,
    GeneratorRefused,
    GeneratorTimeout,
    InvalidImage,
)
from engine.generators.base import ProgressCallback, tile_size_of
from engine.png import decode_png, encode_png

__all__ = ["OpenAIGenerator"]

MODEL_SIDE = 1024  # the one square size every images-edit model accepts
# Error codes of a 400 that mean "the content policy said no" (gpt-image-1, then DALL-E).
_REFUSAL_CODES = frozenset({"moderation_blocked", "content_policy_violation"})


@contextmanager
def _openai_errors(timeout: float) -> Iterator[None]:
    """Turn the SDK's exceptions (and our own deadline) into GeneratorFailures: the one mapping."""
    import openai

    try:
        yield
    except (TimeoutError, openai.APITimeoutError) as exc:
        raise GeneratorTimeout(f"no answer from the images API within {timeout} s") from exc
    except openai.BadRequestError as exc:
        # Matched on the error code the API sends, never on its message text.
        if exc.code in _REFUSAL_CODES:
            raise GeneratorRefused(f"the images API refused the prompt ({exc.code})") from exc
        raise GeneratorError(f"the images API rejected the request ({exc.code or 400})") from exc
    except openai.APIStatusError as exc:
        raise GeneratorError(f"the images API answered {exc.status_code}") from exc
    except openai.OpenAIError as exc:  # connection errors, unparseable responses
        raise GeneratorError(f"the images API failed: {type(exc).__name__}") from exc


def _resize(rgba: np.ndarray, side: int) -> np.ndarray:
    if rgba.shape[0] == side:
        return rgba
    # Pillow resizes RGBA with premultiplied alpha, so transparent pixels do not bleed black.
    return np.asarray(Image.fromarray(rgba, "RGBA").resize((side, side), Image.Resampling.LANCZOS))


def _request_png(context: np.ndarray) -> bytes:
    return encode_png(_resize(context, MODEL_SIDE))


def _result_image(b64: str | None, side: int) -> np.ndarray:
    """Decode the API's base64 PNG and resize it to side x side, opaque; GeneratorBadOutput if unusable."""
    if not b64:
        raise GeneratorBadOutput("the images API returned no b64_json image")
    try:
        decoded = decode_png(base64.b64decode(b64, validate=True))
    except (binascii.Error, InvalidImage) as exc:
        raise GeneratorBadOutput(f"the images API returned an undecodable image: {exc}") from exc
    if decoded.shape[:2] != (MODEL_SIDE, MODEL_SIDE):
        height, width = decoded.shape[:2]
        raise GeneratorBadOutput(f"the images API returned {width} x {height}, wanted {MODEL_SIDE} x {MODEL_SIDE}")
    image = np.empty((side, side, 4), dtype=np.uint8)
    opaque_copy(_resize(decoded, side), image)
    return image


class OpenAIGenerator:
    name = "openai"

    def __init__(
        self, api_key: str, model: str = "gpt-image-1", base_url: str | None = None, timeout: float = 60.0
    ) -> None:
        from openai import AsyncOpenAI

        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.model = model
        self.timeout = timeout
        # No SDK retries: the server decides whether a failed step is tried again.
        self._client = AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(
        self,
        context: np.ndarray,
        prompt: str,
        *,
        seed: int,
        on_progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        side = 2 * tile_size_of(context)
        extra: dict[str, Any] = {"response_format": "b64_json"} if self.model.startswith("dall-e") else {}
        with _openai_errors(self.timeout):
            async with asyncio.timeout(self.timeout):
                png = await asyncio.to_thread(_request_png, context)
                response = await self._client.images.edit(
                    model=self.model,
                    image=("context.png", png, "image/png"),
                    mask=("mask.png", png, "image/png"),
                    prompt=prompt,
                    size=f"{MODEL_SIDE}x{MODEL_SIDE}",
                    n=1,
                    **extra,
                )
                b64 = response.data[0].b64_json if response.data else None
                image = await asyncio.to_thread(_result_image, b64, side)
        if on_progress is not None:
            await on_progress(1.0, image[:: max(1, side // 64), :: max(1, side // 64)])
        return image
