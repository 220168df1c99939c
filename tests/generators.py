"""Generators a test can steer: every in-process app's generator is a Relay (tests/conftest.py),
so a test can hold the next step at a gate and open it when it likes."""

import asyncio

from engine import MockGenerator


class GatedGenerator:
    """The mock generator, held at a gate the test opens: a generator that is slow on cue."""

    name = "gated-mock"

    def __init__(self) -> None:
        self.inner = MockGenerator()
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def generate(self, context, prompt, *, seed, on_progress=None, safety_identifier=None):
        self.entered.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return await self.inner.generate(context, prompt, seed=seed, on_progress=on_progress)

    async def check(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class Relay:
    """Hands each generation to whichever generator was put in place last: the app's configured
    one until a test gates it."""

    name = "relay"

    def __init__(self, target) -> None:
        self.target = target
        self.configured = target

    async def generate(self, context, prompt, *, seed, on_progress=None, safety_identifier=None):
        return await self.target.generate(
            context, prompt, seed=seed, on_progress=on_progress, safety_identifier=safety_identifier
        )

    async def check(self) -> None:
        await self.target.check()

    async def aclose(self) -> None:
        await self.configured.aclose()


def gate(client) -> GatedGenerator:
    """Holds the app's next generations at a new gate."""
    gated = GatedGenerator()
    client.app.state.services.generator.target = gated
    return gated
