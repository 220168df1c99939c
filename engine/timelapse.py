"""A finished round as an animated image: the canvas growing one tile per frame, each frame
captioned with its author and prompt, and a WebP derivative of a tile for display.

Pure: PNG bytes or arrays in, bytes out. The caller shrinks each tile as it loads it
(`shrink_tile`), so a round of 64 tiles of 1024 px never holds more than one full tile at once,
and the animation's frames are small by construction: the canvas fits in `max_side` pixels and
the frames together stay under a fixed pixel budget (Pillow's encoder keeps every frame in memory
until it writes the file).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine._pixels import check_tile_size
from engine.geometry import Cell
from engine.png import decode_png

__all__ = ["TimelapseTile", "cell_side", "shrink_tile", "timelapse_webp", "tile_webp"]

# All frames together at most this many pixels: 64 frames of about 500 x 540, ~50 MiB as RGB.
_FRAME_PIXEL_BUDGET = 16_000_000
_MIN_CELL = 16
_FRAME_MS = 900  # each tile stays this long; the finished canvas longer
_LAST_FRAME_MS = 3000
_BACKGROUND = (246, 244, 239)
_INK = (34, 30, 40)
_CAPTION_FONT_PX = 15


@dataclass(frozen=True)
class TimelapseTile:
    """One committed tile in commit order: where it sits, its pixels shrunk to the frame's cell
    side (see `shrink_tile`), and its caption ("Ada: a lighthouse at dusk")."""

    cell: Cell
    pixels: np.ndarray  # (side, side, 3 or 4) uint8
    caption: str


def cell_side(cells: Sequence[Cell], tile_size: int, max_side: int = 640) -> int:
    """The side in pixels each tile gets in the animation of a round over `cells`: the whole
    canvas fits in `max_side` and all frames fit the pixel budget; never above the tile size."""
    check_tile_size(tile_size)
    if not cells:
        raise ValueError("a timelapse needs at least one tile")
    xs, ys = [c[0] for c in cells], [c[1] for c in cells]
    columns, rows = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
    side = min(tile_size, max_side // max(columns, rows))
    caption = _caption_height()
    while side > _MIN_CELL and len(cells) * (columns * side) * (rows * side + caption) > _FRAME_PIXEL_BUDGET:
        side -= 8
    return max(side, _MIN_CELL)


def shrink_tile(png: bytes, side: int) -> np.ndarray:
    """A tile's PNG decoded and scaled to side x side (area-averaged), RGB uint8."""
    pixels = decode_png(png)
    image = Image.fromarray(pixels[..., :3])
    if image.width != side:
        shrink = Image.Resampling.BOX if side * 2 <= image.width else Image.Resampling.BILINEAR
        image = image.resize((side, side), shrink)
    return np.asarray(image)


def timelapse_webp(tiles: Sequence[TimelapseTile], *, quality: int = 70) -> bytes:
    """An animated WebP: frame k shows tiles 0..k on the final canvas's bounding box, with tile
    k's caption under it; the last frame holds longer. The animation loops."""
    if not tiles:
        raise ValueError("a timelapse needs at least one tile")
    side = tiles[0].pixels.shape[0]
    if any(tile.pixels.shape[:2] != (side, side) for tile in tiles):
        raise ValueError("every tile must be shrunk to the same side")
    left = min(tile.cell[0] for tile in tiles)
    top = min(tile.cell[1] for tile in tiles)
    width = (max(tile.cell[0] for tile in tiles) - left + 1) * side
    height = (max(tile.cell[1] for tile in tiles) - top + 1) * side
    caption = _caption_height()
    canvas = Image.new("RGB", (width, height), _BACKGROUND)
    font = _font()
    frames = []
    for tile in tiles:
        canvas.paste(Image.fromarray(tile.pixels[..., :3]), ((tile.cell[0] - left) * side, (tile.cell[1] - top) * side))
        frame = Image.new("RGB", (width, height + caption), _BACKGROUND)
        frame.paste(canvas, (0, 0))
        _draw_caption(ImageDraw.Draw(frame), tile.caption, font, width, height, caption)
        frames.append(frame)
    durations = [_FRAME_MS] * (len(frames) - 1) + [_LAST_FRAME_MS]
    out = io.BytesIO()
    frames[0].save(
        out,
        format="WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        quality=quality,
        method=4,
    )
    return out.getvalue()


def tile_webp(png: bytes, width: int | None = None, *, quality: int = 82) -> bytes:
    """A tile's display copy: its pixels as lossy WebP, `width` pixels wide (None or a width at
    least the tile's: its own size), a fraction of the PNG's bytes."""
    pixels = decode_png(png)
    image = Image.fromarray(pixels[..., :3] if (pixels[..., 3] == 255).all() else pixels)
    if width is not None and width < image.width:
        image = image.resize((width, width), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=quality, method=4)
    return out.getvalue()


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=_CAPTION_FONT_PX)


def _caption_height() -> int:
    return _CAPTION_FONT_PX * 2 + 8


def _draw_caption(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    top: int,
    height: int,
) -> None:
    """The caption on one line, cut with an ellipsis where it would not fit."""
    margin = 8
    line = " ".join(text.split())
    if draw.textlength(line, font=font) > width - 2 * margin:
        while line and draw.textlength(line + "…", font=font) > width - 2 * margin:
            line = line[:-1]
        line = line.rstrip() + "…"
    draw.text((margin, top + (height - _CAPTION_FONT_PX) // 2), line, fill=_INK, font=font)
