"""The engine's error tree: what callers of `engine` may need to catch.

    EngineError
    ├── CellUnavailable (ValueError)   the target cell is taken, outside the extent, or the room is full
    ├── InvalidImage (ValueError)      bytes that are not a decodable PNG of sane size
    └── GeneratorFailure               a generator could not produce a tile; `reason` names why
        ├── GeneratorTimeout           "generator_timeout": the step's generation deadline passed
        ├── GeneratorRefused           "generator_refused": the provider's safety system declined the prompt
        ├── GeneratorBusy              "generator_busy": still rate-limited after the retries that fit
        ├── GeneratorUnavailable       "generator_unavailable": bad key, model unknown or shut down,
        │                              quota exhausted; an operator must act (`alarm`)
        ├── GeneratorError             "generator_error": the service failed (5xx, connection) for good
        └── GeneratorBadOutput         "generator_bad_output": not an image, wrong size, transparent pixels

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
    "GeneratorBusy",
    "GeneratorUnavailable",
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
    # True when no retry by a player can help and an operator must act (logged at error level).
    alarm: bool = False


class GeneratorTimeout(GeneratorFailure):
    reason = "generator_timeout"


class GeneratorRefused(GeneratorFailure):
    reason = "generator_refused"


class GeneratorBusy(GeneratorFailure):
    reason = "generator_busy"


class GeneratorUnavailable(GeneratorFailure):
    reason = "generator_unavailable"
    alarm = True


class GeneratorError(GeneratorFailure):
    reason = "generator_error"


class GeneratorBadOutput(GeneratorFailure):
    reason = "generator_bad_output"
