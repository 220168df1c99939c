"""EXQUISITE's pure core: tile geometry, context windows, seams, PNG bytes, and the generators.

Callers import from here only. Everything except `engine.generators` is synchronous and free of
I/O: arrays in, arrays out, so every server instance computes the same pixels.
"""

from __future__ import annotations

from engine._pixels import Output
from engine.composite import composite
from engine.context import build_context, cut_tile, edge_window, keep_mask
from engine.errors import (
    CellUnavailable,
    EngineError,
    GeneratorBadOutput,
    GeneratorError,
    GeneratorFailure,
    GeneratorRefused,
    GeneratorTimeout,
    InvalidImage,
)
from engine.generators import (
    REFUSE_TOKEN,
    Generator,
    MockGenerator,
    OpenAIGenerator,
    ProgressCallback,
    make_generator,
)
from engine.geometry import (
    DEFAULT_EXTENT,
    TILE_SIZES,
    Cell,
    Direction,
    free_directions,
    frontier,
    target_cell,
)
from engine.png import PngWriter, decode_png, encode_jpeg_preview, encode_png
from engine.seam import METHODS as SEAM_METHODS
from engine.seam import Method as SeamMethod
from engine.seam import SeamResult, context_drift, correct_seams, seam_score

__all__ = [
    # geometry
    "Cell",
    "Direction",
    "TILE_SIZES",
    "DEFAULT_EXTENT",
    "frontier",
    "free_directions",
    "target_cell",
    # pixels
    "build_context",
    "edge_window",
    "keep_mask",
    "cut_tile",
    "Output",
    "composite",
    "correct_seams",
    "SeamResult",
    "SeamMethod",
    "SEAM_METHODS",
    "seam_score",
    "context_drift",
    "encode_png",
    "PngWriter",
    "decode_png",
    "encode_jpeg_preview",
    # generators
    "Generator",
    "ProgressCallback",
    "MockGenerator",
    "OpenAIGenerator",
    "REFUSE_TOKEN",
    "make_generator",
    # errors
    "EngineError",
    "CellUnavailable",
    "InvalidImage",
    "GeneratorFailure",
    "GeneratorTimeout",
    "GeneratorRefused",
    "GeneratorError",
    "GeneratorBadOutput",
]
