"""PNG bytes in and out, deterministically: tile blobs are addressed by the sha256 of these bytes.

PNG is written here, not by Pillow: Pillow picks each row's filter by trying all five, which was
about 60% of its encode of a tile, and offers no way to choose one; it also encodes only whole
images, and a canvas is written a strip at a time (server/play/canvas.py). Every row here is
filtered with Up (its difference from the row above: smooth paintings leave small values), in one
numpy operation a block. Nothing varies but the pixels, so the same array and the same zlib build
give the same bytes. The settings are fixed on purpose; changing them changes every new tile's
address (old tiles keep theirs, since blobs are never rewritten).

Decoding is Pillow's, but for a PNG as written here (8-bit RGBA, every row Up, nothing but IHDR,
IDAT and IEND), which is read here: Pillow inflates with the system's zlib, and a 512 px tile
took 1.95 ms to decode, 1.36 of them inflating, against 0.41 ms for zlib-ng's inflate and 0.28 for
undoing Up a row at a time (one numpy addition a row); every tile cache miss is one. Anything else,
or anything wrong (a bad checksum, a short stream), goes to Pillow, which says what is wrong.

The deflater and inflater are the caller's to choose (`deflater`, `inflater`, zlib's by default):
the server uses zlib-ng's (server/play/tiles.py says why), the same format, faster.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Protocol

import numpy as np
from PIL import Image

from engine._pixels import Output, output_array
from engine.errors import InvalidImage

__all__ = ["PngWriter", "Deflater", "Inflater", "encode_png", "decode_png", "encode_jpeg_preview", "MAX_DECODE_SIDE"]

# Level 1 is the fast end of zlib: the encode sits on every step's critical path, and the bytes are
# served once per viewer with immutable caching. 512 px RGBA tiles (bench/engine.py), Pillow's
# adaptive filters at level 1 against Up at level 1: a painted tile 9.1 ms and 81 kB against 4.3 ms
# and 80 kB, a grainy one 36 ms and 663 kB against 18 ms and 664 kB.
_COMPRESS_LEVEL = 1
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type: grey, grey + alpha, RGB, RGBA
_UP = 2  # PNG's filter type 2


class Deflater(Protocol):
    """One zlib stream being written, as zlib.compressobj(level) makes it."""

    def compress(self, data: memoryview, /) -> bytes: ...

    def flush(self) -> bytes: ...


class Inflater(Protocol):
    """One zlib stream being read, as zlib.decompressobj() makes it."""

    @property
    def unconsumed_tail(self) -> bytes: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


MAX_DECODE_SIDE = 4096
"""Larger images are refused before their pixels are decompressed (a tile is at most 2048 wide)."""


def _check_pixels(image: np.ndarray, caller: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"{caller} wants an (H, W, 3|4) uint8 array")


class PngWriter:
    """An 8-bit PNG of `channels` (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) written a block of rows
    at a time: every row filtered with Up, the whole image one zlib stream over IDAT chunks (PNG's
    own way of streaming), so only a block and its compressed output are in memory at once."""

    def __init__(
        self,
        width: int,
        height: int,
        channels: int,
        *,
        level: int = _COMPRESS_LEVEL,
        deflater: Callable[[int], Deflater] = zlib.compressobj,
    ) -> None:
        if channels not in _COLOUR_TYPES or width < 1 or height < 1:
            raise ValueError(f"no PNG of {width} x {height} with {channels} channels")
        self._shape = (width, channels)
        self._rows_left = height
        self._above = np.zeros((width, channels), dtype=np.uint8)  # the row over the first is zeros
        self._compressor = deflater(level)
        self._pieces = [_SIGNATURE]
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0))

    def add(self, rows: np.ndarray) -> None:
        """The next (rows, width, channels) uint8 block of the image, top to bottom."""
        if rows.dtype != np.uint8 or rows.shape[1:] != self._shape or not 0 < len(rows) <= self._rows_left:
            raise ValueError(f"rows of {rows.shape} {rows.dtype} do not continue this PNG")
        count, width, channels = rows.shape
        filtered = np.empty((count, 1 + width * channels), dtype=np.uint8)
        filtered[:, 0] = _UP
        body = filtered[:, 1:].reshape(count, width, channels)  # a view: the bytes after each row's filter byte
        np.subtract(rows[:1], self._above, out=body[:1])
        np.subtract(rows[1:], rows[:-1], out=body[1:])
        self._above = rows[-1].copy()
        self._rows_left -= count
        self._chunk(b"IDAT", self._compressor.compress(filtered.data))

    def finish(self) -> bytes:
        if self._rows_left:
            raise ValueError(f"{self._rows_left} rows of this PNG were never added")
        self._chunk(b"IDAT", self._compressor.flush())
        self._chunk(b"IEND", b"")
        return b"".join(self._pieces)

    def _chunk(self, kind: bytes, data: bytes) -> None:
        if kind == b"IDAT" and not data:
            return
        crc = zlib.crc32(data, zlib.crc32(kind))
        self._pieces += [struct.pack(">I", len(data)) + kind, data, struct.pack(">I", crc)]


def encode_png(
    image: np.ndarray, *, level: int = _COMPRESS_LEVEL, deflater: Callable[[int], Deflater] = zlib.compressobj
) -> bytes:
    """Encode an (H, W, 4) or (H, W, 3) uint8 array as PNG, the same bytes for the same array
    (and the same deflater and level)."""
    _check_pixels(image, "encode_png")
    height, width, channels = image.shape
    writer = PngWriter(width, height, channels, level=level, deflater=deflater)
    writer.add(image)
    return writer.finish()


# Pillow reports garbage as UnidentifiedImageError (an OSError), truncation as OSError and some
# malformed chunks as ValueError or SyntaxError.
_PILLOW_REFUSALS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def decode_png(
    data: bytes, *, out: np.ndarray | Output | None = None, inflater: Callable[[], Inflater] = zlib.decompressobj
) -> np.ndarray:
    """Decode PNG bytes to an (H, W, 4) uint8 RGBA array, written into `out` when given (see
    Output; its shape must be the image's); raises InvalidImage on anything else."""
    written_here = _written_here(data)
    if written_here is not None:
        width, height, stream = written_here
        _check_size(width, height, out)
        filtered = _inflate_up_rows(stream, width, height, inflater)
        if filtered is not None:
            pixels = output_array(out, (height, width, 4))  # an unfit array is the caller's ValueError
            _undo_up(filtered, pixels)
            return pixels
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
    except _PILLOW_REFUSALS as exc:
        raise InvalidImage(f"not a decodable PNG: {exc}") from exc
    with image:
        _check_size(*image.size, out)
        pixels = output_array(out, (image.height, image.width, 4))
        try:
            _load_rgba(image, pixels)
        except _PILLOW_REFUSALS as exc:
            raise InvalidImage(f"not a decodable PNG: {exc}") from exc
    return pixels


def _check_size(width: int, height: int, out: np.ndarray | Output | None) -> None:
    """Refuses, before its pixels are inflated, an image too large or unfit for `out`."""
    if width > MAX_DECODE_SIDE or height > MAX_DECODE_SIDE:
        raise InvalidImage(f"image of {width} x {height} is larger than {MAX_DECODE_SIDE} a side")
    if out is not None and out.shape != (height, width, 4):
        raise InvalidImage(f"an image of {width} x {height} does not fill an array of {out.shape}")


def _written_here(data: bytes) -> tuple[int, int, bytes] | None:
    """Width, height and zlib stream of a PNG laid out as PngWriter writes RGBA (IHDR, IDATs,
    IEND, every checksum right), or None for any other bytes."""
    view = memoryview(data)
    if view[: len(_SIGNATURE)] != _SIGNATURE:
        return None
    chunks = []
    position = len(_SIGNATURE)
    while position + 12 <= len(view):
        length, kind = struct.unpack_from(">I4s", view, position)
        body = view[position + 8 : position + 8 + length]
        position += 12 + length
        if position > len(view):
            return None
        if struct.unpack_from(">I", view, position - 4)[0] != zlib.crc32(body, zlib.crc32(kind)):
            return None
        chunks.append((kind, body))
    kinds = [kind for kind, _ in chunks]
    if position != len(view) or len(kinds) < 3 or kinds[0] != b"IHDR" or kinds[-1] != b"IEND":
        return None
    if set(kinds[1:-1]) != {b"IDAT"} or len(chunks[0][1]) != 13:
        return None
    width, height, *layout = struct.unpack(">IIBBBBB", chunks[0][1])
    if layout != [8, _COLOUR_TYPES[4], 0, 0, 0] or not width or not height:
        return None
    return width, height, b"".join(body for _, body in chunks[1:-1])


def _inflate_up_rows(stream: bytes, width: int, height: int, inflater: Callable[[], Inflater]) -> np.ndarray | None:
    """The (height, 1 + 4 width) filtered rows of `stream`, or None unless it holds exactly those,
    every row filtered with Up. The first byte is read alone: a PNG whose first row is filtered
    otherwise (any other writer's) is given up before the rest is inflated."""
    size = height * (1 + 4 * width)
    reader = inflater()
    try:
        first = reader.decompress(stream, 1)
        if first != bytes([_UP]):
            return None
        rest = reader.decompress(reader.unconsumed_tail, size)  # one byte more than is left shows a longer stream
    except Exception:  # noqa: BLE001 - zlib.error, zlib_ng.error...: Pillow's error is the one reported
        return None
    if len(rest) != size - 1 or not reader.eof or reader.unused_data:
        return None
    filtered = np.frombuffer(first + rest, dtype=np.uint8).reshape(height, 1 + 4 * width)
    return filtered if (filtered[:, 0] == _UP).all() else None


def _undo_up(filtered: np.ndarray, pixels: np.ndarray) -> None:
    """Fills (H, W, 4) `pixels` from Up-filtered rows: each byte is its filtered byte plus the one
    above it (mod 256), the row over the first being zeros."""
    height = filtered.shape[0]
    rows = pixels.reshape(height, -1) if pixels.flags.c_contiguous else np.empty_like(filtered[:, 1:])
    body = filtered[:, 1:]
    np.copyto(rows[0], body[0])
    for row in range(1, height):
        np.add(rows[row - 1], body[row], out=rows[row])
    if not pixels.flags.c_contiguous:
        np.copyto(pixels, rows.reshape(pixels.shape))


def _load_rgba(image: Image.Image, pixels: np.ndarray) -> None:
    """Fills `pixels` with the opened image as RGBA."""
    if image.mode != "RGBA" or not pixels.flags.c_contiguous:
        np.copyto(pixels, np.asarray(image.convert("RGBA")))
        return
    # Pillow decodes straight into `pixels`: load() fills the image memory it is given when that
    # has the file's mode and size (test_png_codec checks the array is filled), here laid on the
    # array. Converting, taking the bytes out and copying them where the answer is lent were three
    # more passes over a tile: in bench/live.py (T=512) a tile cache miss cost the pixel worker
    # 3.1 ms to decode and 0.65 ms to lend before, 2.6-2.7 ms in all after.
    image.im = Image.frombuffer("RGBA", image.size, pixels, "raw", "RGBA", 0, 1).im
    image.load()


def encode_jpeg_preview(image: np.ndarray, max_side: int = 128, quality: int = 70) -> bytes:
    """A small JPEG of an RGB or RGBA array for live previews (alpha dropped, longer side <= max_side)."""
    _check_pixels(image, "encode_jpeg_preview")
    height, width = image.shape[:2]
    # Strided subsampling first keeps the resize cheap for full-size inputs.
    step = max(1, max(height, width) // (2 * max_side))
    picture = Image.fromarray(np.ascontiguousarray(image[::step, ::step, :3]), "RGB")
    picture.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
