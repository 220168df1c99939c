"""Image generators behind one interface: the offline mock and OpenAI's images edit."""

from __future__ import annotations

import asyncio

from engine.generators.base import Generator, Offload, ProgressCallback
from engine.generators.mock import REFUSE_TOKEN, MockGenerator
from engine.generators.openai_images import DEFAULT_MODEL, OpenAIGenerator

__all__ = [
    "Generator",
    "ProgressCallback",
    "Offload",
    "MockGenerator",
    "OpenAIGenerator",
    "REFUSE_TOKEN",
    "make_generator",
]


def make_generator(
    kind: str,
    *,
    openai_api_key: str | None = None,
    openai_model: str = DEFAULT_MODEL,
    openai_base_url: str | None = None,
    openai_quality: str | None = None,
    openai_complexity: str | None = None,
    openai_max_side: int = 2048,
    openai_partial_images: int = 2,
    timeout: float = 60.0,
    mock_delay_ms: int = 0,
    mock_fail_rate: float = 0.0,
    offload: Offload = asyncio.to_thread,
) -> Generator:
    """The generator named by `GENERATOR` ("mock" or "openai"), configured from settings."""
    if kind == "mock":
        return MockGenerator(delay_ms=mock_delay_ms, fail_rate=mock_fail_rate, timeout=timeout, offload=offload)
    if kind == "openai":
        if not openai_api_key:
            raise ValueError("the openai generator needs an API key (OPENAI_API_KEY)")
        return OpenAIGenerator(
            openai_api_key,
            model=openai_model,
            base_url=openai_base_url,
            timeout=timeout,
            quality=openai_quality,
            complexity=openai_complexity,
            max_side=openai_max_side,
            partial_images=openai_partial_images,
            offload=offload,
        )
    raise ValueError(f"unknown generator {kind!r}: expected 'mock' or 'openai'")
