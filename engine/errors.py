"""The engine's error tree: what callers of `engine` may need to catch.

    EngineError
    ├── CellUnavailable (ValueError)   the target cell is taken, outside the extent, or the room is full
    ├── InvalidImage (ValueError)      bytes that are not a decodable PNG of sane size
    └── GeneratorFailure               a generator could not produce a tile; `reason` names why
        ├── GeneratorTimeout           reason "timeout": the provider's deadline passed
        ├── GeneratorRefused           reason "refused": the content policy declined the prompt
        ├── GeneratorError             reason "generator_error": the service failed
        └── GeneratorBadOutput         reason "bad_output": wrong size, or not an image

`reason` is what the server records on an aborted step. Misuse by our own code (an array of the
wrong shape, an unknown generator kind) is a plain ValueError or RuntimeError, never one of these.
"""

from __future__ import annotations

__all__ = [
    "EngineError",
    "CellUnavailable",
    "InvalidImage",
    "GeneratorFailure",
    "GeneratorTimeout",
    "GeneratorRefused",
    "GeneratorError",
    "GeneratorBadOutput",
]


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class CellUnavailable(EngineError, ValueError):
    """The requested cell cannot take a tile."""


class InvalidImage(EngineError, ValueError):
    """The bytes are not an image the engine accepts."""


class GeneratorFailure(EngineError):
    """A generator did not produce a tile; the step is aborted with `reason`."""

    reason: str = "generator_error"


class GeneratorTimeout(GeneratorFailure):
    reason = "timeout"


class GeneratorRefused(GeneratorFailure):
    reason = "refused"


class GeneratorError(GeneratorFailure):
    reason = "generator_error"


class GeneratorBadOutput(GeneratorFailure):
    reason = "bad_output"
