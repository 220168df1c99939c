"""The mock generator's painter: a pure, deterministic function of (context, prompt, seed).

It works at a low resolution (at most WORK_SIDE a side) and upscales once at the end, which keeps
it fast. Two layers are blended:
- a continuation of the KEEP region: known colours pushed outward by push-pull (a pyramid of
  averaged colours, each coarser level filling the holes of the finer one), in full next to the
  known pixels and fading out over about half a tile;
- a scene keyed by the prompt (its palette and style) and by prompt, seed and context (its
  layout): a gradient, soft blobs, waves or stripes, and a faint value-noise texture.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine._pixels import Output, opaque_copy, output_array

__all__ = ["Painting", "paint", "WORK_SIDE"]

WORK_SIDE = 128
_PREVIEW_SIDE = 64


@dataclass(frozen=True)
class Painting:
    image: np.ndarray  # (side, side, 4) uint8, opaque
    previews: tuple[np.ndarray, ...]  # three small RGB uint8 stages: continuation, blend, final


def _rng(*parts: bytes) -> np.random.Generator:
    digest = hashlib.blake2b(b"\0".join(parts), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def _palette(style: np.random.Generator) -> np.ndarray:
    """Five colours around a prompt-chosen hue, as (5, 3) float32 in 0..1."""
    hue = style.random()
    offsets = style.choice([0.08, 0.33, 0.5, 0.67], size=4)
    colours = [
        colorsys.hsv_to_rgb((hue + offset) % 1.0, style.uniform(0.45, 0.9), style.uniform(0.45, 0.95))
        for offset in (0.0, *offsets)
    ]
    return np.asarray(colours, dtype=np.float32)


def _sum2x2(a: np.ndarray) -> np.ndarray:
    if a.shape[0] % 2 or a.shape[1] % 2:  # zero padding adds no weight and no colour
        a = np.pad(a, [(0, a.shape[0] % 2), (0, a.shape[1] % 2)] + [(0, 0)] * (a.ndim - 2))
    return a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]


def _up2(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear 2x upsampling (edges clamped), cropped to `shape`."""
    for axis in (0, 1):
        a = np.moveaxis(a, axis, 0)
        before = np.concatenate([a[:1], a[:-1]])
        after = np.concatenate([a[1:], a[-1:]])
        doubled = np.empty((2 * a.shape[0], *a.shape[1:]), dtype=a.dtype)
        doubled[0::2] = 0.75 * a + 0.25 * before
        doubled[1::2] = 0.75 * a + 0.25 * after
        a = np.moveaxis(doubled, 0, axis)
    return a[: shape[0], : shape[1]]


def _push_pull(premultiplied: np.ndarray, weight: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Fill the holes of a premultiplied image with the nearest known colours (straight RGB)."""
    levels = [(premultiplied, weight)]
    while max(levels[-1][1].shape) > 1:
        colour, w = levels[-1]
        total = _sum2x2(w)
        levels.append((_sum2x2(colour) / np.maximum(total, 1.0)[..., None], np.minimum(total, 1.0)))
    colour, w = levels.pop()
    fill = colour / w[..., None] if w.item() > 0 else np.broadcast_to(background, colour.shape)
    for colour, w in reversed(levels):
        fill = colour + (1.0 - w)[..., None] * _up2(fill, w.shape)
    return fill


def _nearness(weight: np.ndarray) -> np.ndarray:
    """1 on and beside known pixels, falling to 0 about a quarter of the window away from them.

    Three times a wide blur of the known mask (box pyramid down, bilinear back up), so a straight border
    starts at 1 and fades smoothly; clamped and never below the mask itself.
    """
    blurred, shapes = weight, []
    for _ in range(max(1, int(np.log2(max(weight.shape[0] / 4, 2))))):
        shapes.append(blurred.shape)
        blurred = _sum2x2(blurred) / 4
    for shape in reversed(shapes):
        blurred = _up2(blurred, shape)
    return np.maximum(weight, np.clip(3 * blurred, 0.0, 1.0))


def _scene(side: int, palette: np.ndarray, style: np.random.Generator, layout: np.random.Generator) -> np.ndarray:
    """The prompt's picture at (side, side, 3) float32: gradient, blobs and a wave pattern."""
    y = np.linspace(0.0, 1.0, side, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, side, dtype=np.float32)[None, :]
    angle = layout.uniform(0, 2 * np.pi)
    along = np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5) + 0.5
    scene = palette[0] + (palette[1] - palette[0]) * np.clip(along, 0, 1)[..., None]
    for i in range(int(layout.integers(3, 7))):
        cx, cy = layout.uniform(0, 1, size=2)
        radius = layout.uniform(0.06, 0.25)
        # A Gaussian is separable: two 1-D exponentials and one outer product.
        blob = np.exp(-((y - cy) ** 2) / (2 * radius**2)) * np.exp(-((x - cx) ** 2) / (2 * radius**2))
        scene += (palette[2 + i % 3] - scene) * (0.85 * blob)[..., None]
    kind = int(style.integers(3))
    frequency = style.uniform(3, 9) * 2 * np.pi
    phase = layout.uniform(0, 2 * np.pi)
    if kind == 0:  # soft stripes along the gradient
        pattern = np.tanh(3 * np.sin(frequency * along + phase))
    elif kind == 1:  # waves
        pattern = np.sin(frequency * y + 0.8 * np.sin(frequency * 0.5 * x + phase))
    else:  # ripples around a point
        cx, cy = layout.uniform(0, 1, size=2)
        pattern = np.sin(frequency * np.sqrt((x - cx) ** 2 + (y - cy) ** 2) + phase)
    return scene * (1.0 + style.uniform(0.08, 0.18) * pattern)[..., None]


def _texture(side: int, layout: np.random.Generator) -> np.ndarray:
    """Faint value noise in -1..1, (side, side) float32."""
    coarse = layout.uniform(-1, 1, size=(max(2, side // 16),) * 2).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((side, side), Image.Resampling.BILINEAR))


def _preview(rgb: np.ndarray) -> np.ndarray:
    step = max(1, rgb.shape[0] // _PREVIEW_SIDE)
    return _to_uint8(rgb[::step, ::step])


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


def paint(context: np.ndarray, prompt: str, seed: int, *, out: np.ndarray | Output | None = None) -> Painting:
    """Paint a full (side, side, 4) image continuing `context`'s opaque pixels (into `out` when
    given: see Output)."""
    side = context.shape[0]
    factor = max(1, side // WORK_SIDE)
    # Point samples at the centre of each factor x factor box: aliasing does not matter to a mock,
    # and a box average of the full window would cost more than all the painting.
    small = context[factor // 2 :: factor, factor // 2 :: factor]
    style = _rng(b"style", prompt.encode())
    layout = _rng(b"layout", prompt.encode(), str(seed).encode(), small.tobytes())
    palette = _palette(style)

    weight = small[..., 3].astype(np.float32) / 255
    known = small[..., :3].astype(np.float32) / 255 * weight[..., None]
    fill = _push_pull(known, weight, background=palette[0])
    reach = _nearness(weight)
    low_side = small.shape[0]
    scene = _scene(low_side, palette, style, layout)
    # Tint the scene towards the continued colours so the two layers belong together.
    blend = reach[..., None] * fill + (1.0 - reach[..., None]) * (0.8 * scene + 0.2 * fill)
    final = blend * (1.0 + 0.06 * (1.0 - weight) * _texture(low_side, layout))[..., None]

    # RGBX resizes without the premultiplication Pillow applies to RGBA; X becomes our alpha.
    low = Image.fromarray(_to_uint8(final), "RGB").convert("RGBX")
    image = output_array(out, (side, side, 4))
    opaque_copy(np.asarray(low.resize((side, side), Image.Resampling.BICUBIC)), image)
    return Painting(image=image, previews=(_preview(fill), _preview(blend), _preview(final)))
