"""Prompt moderation before any debit (`MODERATION=openai|off`).

With `openai`, each submitted prompt goes through OpenAI's moderation endpoint
(`omni-moderation-latest`) before the step's transaction: a flagged prompt is refused with
`422 prompt_refused`, costs nothing and records nothing. When the endpoint itself fails (down,
slow, rate-limited) the prompt passes, with a warning in the log: the images API checks every
prompt again (a refusal there is `generator_refused`, refunded), so an outage of the first check
costs a refund at worst, where failing closed would stop every game.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from server.settings import Settings
from storage import InvalidField

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["Moderation", "PromptRefused", "MODERATION_MODEL"]

log = logging.getLogger(__name__)

MODERATION_MODEL = "omni-moderation-latest"
# The check sits in front of every step's answer: it may not hold a player up for long.
_TIMEOUT_SECONDS = 5.0


class PromptRefused(InvalidField):
    code = "prompt_refused"

    def __init__(self) -> None:
        super().__init__("prompt", "This prompt was refused by the content policy; try another.")


class Moderation:
    """The moderation client, open from start-up to shutdown (one connection pool)."""

    def __init__(self, settings: Settings) -> None:
        self._client: AsyncOpenAI | None = None
        if settings.moderation == "openai":
            from openai import AsyncOpenAI

            if not settings.openai_api_key:
                raise ValueError("MODERATION=openai needs an API key (OPENAI_API_KEY)")
            self._client = AsyncOpenAI(
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
                timeout=_TIMEOUT_SECONDS,
                max_retries=0,
            )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def check(self, prompt: str) -> None:
        """Raises PromptRefused when moderation is on and flags `prompt`."""
        if self._client is None:
            return
        import openai

        try:
            async with asyncio.timeout(_TIMEOUT_SECONDS):
                answer = await self._client.moderations.create(model=MODERATION_MODEL, input=prompt)
        except (TimeoutError, openai.OpenAIError) as exc:
            log.warning("prompt moderation failed, letting the prompt through: %r", exc)
            return
        if any(result.flagged for result in answer.results):
            raise PromptRefused()
