"""The images-edit request and answer as pixels (pure: arrays and bytes in and out).

The window sent is the exact 2T x 2T context where the model accepts that size. The GPT image
models take any `WIDTHxHEIGHT` with both edges multiples of 16, at most 3840 a side and between
655,360 and 8,294,400 pixels (the SDK's `size` docstring points at "the model's current pixel and
edge limits"; the figures are OpenAI's image generation guide). So T=512 and T=1024 go as they are
(1024, 2048), T=256 is upscaled to 816 x 816, the smallest square within the limits, and its answer
scaled back; `max_side` (OPENAI_MAX_SIDE) caps the edge, 2048 being above the 2560 x 1440 the SDK
calls experimental only in area, not in edge.

The image is the context as RGBA PNG, encoded once. The mask is a separate PNG holding alpha alone
(mode LA, luminance 0): tiny next to the image, and resized with NEAREST so that its opaque pixels
are exactly the KEEP region, with no half-transparent border for the API to read as "keep".
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine._pixels import OPAQUE, Output, opaque_copy, output_array
from engine.errors import GeneratorBadOutput, InvalidImage
from engine.png import PngWriter, decode_png

__all__ = [
    "EDGE_STEP",
    "MIN_PIXELS",
    "MAX_PIXELS",
    "MAX_EDGE",
    "PREVIEW_SIDE",
    "EditRequest",
    "request_side",
    "encode_request",
    "decode_answer",
    "preview_of",
]

EDGE_STEP = 16
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
MAX_EDGE = 3840
PREVIEW_SIDE = 128  # the progress frame's JPEG is at most this a side (engine.encode_jpeg_preview)

# Measured with bench/openai_smoke.py --pixels (2 shared cores): 512 -> 816 costs 6 / 9 / 12 ms
# with BILINEAR / BICUBIC / LANCZOS and the round trip back to 512 leaves 3.5 / 2.3 / 1.8 grey
# levels of error; a few ms per T=256 step buy the sharpest context the model can see. (The
# OPENAI_MAX_SIDE=1536 fallback pays 85 ms each way for LANCZOS at 2048 <-> 1536, 50 for BILINEAR.)
_UP = Image.Resampling.LANCZOS
_DOWN = Image.Resampling.LANCZOS
# PNG level 1: the request is uploaded once and thrown away. The LA mask at 2048 px is 41 kB,
# next to 1.5 MB of image.
_COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class EditRequest:
    window: int  # the context's side, which the answer is scaled back to
    side: int  # the square size asked for (and expected back)
    image: bytes  # the context as RGBA PNG, side x side
    mask: bytes  # alpha-only PNG, side x side: 255 = KEEP, 0 = paint
    paint: np.ndarray  # (side, side) bool, where the model paints (mask alpha 0)


def request_side(window: int, max_side: int) -> int:
    """The square size to ask for a `window` x `window` context: the window itself when the model
    accepts it, else the nearest accepted size (up for small windows, down past `max_side`)."""
    side = min(window, max_side, MAX_EDGE) // EDGE_STEP * EDGE_STEP
    while side * side < MIN_PIXELS:
        side += EDGE_STEP
    if side * side > MAX_PIXELS or side > max_side:
        raise ValueError(f"no accepted square size for a {window} px window with OPENAI_MAX_SIDE {max_side}")
    return side


def _png(image: Image.Image) -> bytes:
    pixels = np.asarray(image)
    writer = PngWriter(image.width, image.height, pixels.shape[2], level=_COMPRESS_LEVEL)
    writer.add(pixels)
    return writer.finish()


def _resized(image: Image.Image, side: int, resample: Image.Resampling) -> Image.Image:
    return image if image.width == side else image.resize((side, side), resample)


def encode_request(context: np.ndarray, side: int) -> EditRequest:
    """The image and mask PNGs for a (2T, 2T, 4) context, at side x side."""
    window = context.shape[0]
    picture = _resized(Image.fromarray(context, "RGBA"), side, _UP if side > window else _DOWN)
    keep = _resized(Image.fromarray(context[..., 3]), side, Image.Resampling.NEAREST)
    alpha = np.asarray(keep)
    mask = Image.fromarray(np.stack([np.zeros_like(alpha), alpha], axis=-1), "LA")
    return EditRequest(window=window, side=side, image=_png(picture), mask=_png(mask), paint=alpha == 0)


def decode_answer(data: bytes, request: EditRequest, *, out: np.ndarray | Output | None = None) -> np.ndarray:
    """The model's PNG as an opaque (window, window, 4) array (in `out` when given: see Output);
    GeneratorBadOutput when it is not an image, not the size asked for, or transparent anywhere it
    was asked to paint."""
    try:
        answer = decode_png(data)
    except InvalidImage as exc:
        raise GeneratorBadOutput(f"the images API returned an undecodable image: {exc}") from exc
    if answer.shape[:2] != (request.side, request.side):
        height, width = answer.shape[:2]
        raise GeneratorBadOutput(f"the images API returned {width} x {height}, asked for {request.side} square")
    holes = int(np.count_nonzero(answer[..., 3][request.paint] < OPAQUE))
    if holes:
        raise GeneratorBadOutput(f"the images API left {holes} transparent pixels where it was asked to paint")
    window = request.window
    if request.side != window:
        resample = _DOWN if request.side > window else _UP
        answer = np.asarray(Image.fromarray(answer, "RGBA").resize((window, window), resample))
    image = output_array(out, (window, window, 4))
    opaque_copy(answer, image)
    return image


def preview_of(data: bytes) -> np.ndarray | None:
    """A small RGB array of a partial image for the progress frame; None if it does not decode
    (a preview is a courtesy: a broken one is skipped, never a failure)."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP"]) as picture:
            picture.draft("RGB", (PREVIEW_SIDE, PREVIEW_SIDE))  # JPEG decodes at 1/8 scale for free
            picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
            return np.asarray(picture.convert("RGB"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
