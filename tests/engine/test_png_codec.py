from __future__ import annotations

import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from engine import InvalidImage, Output, PngWriter, decode_png, encode_jpeg_preview, encode_png


def _image(seed: int = 0, shape=(48, 64, 4)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_png_round_trips_rgba_exactly():
    rgba = _image()
    assert np.array_equal(decode_png(encode_png(rgba)), rgba)


def test_png_of_rgb_decodes_as_opaque_rgba():
    rgb = _image(shape=(8, 8, 3))
    decoded = decode_png(encode_png(rgb))
    assert np.array_equal(decoded[..., :3], rgb) and (decoded[..., 3] == 255).all()


@pytest.mark.parametrize("channels", [4, 3], ids=["rgba", "rgb"])
def test_png_decodes_into_out_whatever_it_held(channels):
    image = _image(2, shape=(48, 64, channels))
    expected = decode_png(encode_png(image))
    out = np.full((48, 64, 4), 77, np.uint8)
    assert decode_png(encode_png(image), out=out) is out
    assert np.array_equal(out, expected)
    assert np.array_equal(decode_png(encode_png(image), out=Output((48, 64, 4))), expected)


@pytest.mark.parametrize("out", [np.zeros((64, 48, 4), np.uint8), Output((48, 64, 3)), Output((8, 8, 4))])
def test_png_of_another_shape_than_out_is_invalid(out):
    with pytest.raises(InvalidImage, match="does not fill"):
        decode_png(encode_png(_image()), out=out)


def test_png_decodes_into_a_strided_out_too():
    image = _image(3)
    wider = np.zeros((48, 80, 4), np.uint8)
    decode_png(encode_png(image), out=wider[:, 8:72])
    assert np.array_equal(wider[:, 8:72], image) and not wider[:, :8].any() and not wider[:, 72:].any()


def test_an_out_of_the_wrong_type_is_the_callers_error_not_the_images():
    with pytest.raises(ValueError, match="out must be") as caught:
        decode_png(encode_png(_image()), out=np.zeros((48, 64, 4), np.float32))
    assert not isinstance(caught.value, InvalidImage)


def test_truncated_png_into_out_is_invalid():
    with pytest.raises(InvalidImage):
        decode_png(encode_png(_image())[:-200], out=np.zeros((48, 64, 4), np.uint8))


def test_png_encoding_is_deterministic():
    rgba = _image(1)
    assert encode_png(rgba) == encode_png(rgba.copy()) == encode_png(np.asfortranarray(rgba))


@pytest.mark.parametrize(
    "data",
    [b"", b"not a png at all", encode_png(_image())[:100], b"\x89PNG\r\n\x1a\n" + b"\0" * 64],
    ids=["empty", "text", "truncated", "bad-chunks"],
)
def test_decode_png_raises_invalid_image_on_garbage(data):
    with pytest.raises(InvalidImage):
        decode_png(data)


def test_decode_png_refuses_other_formats():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
    with pytest.raises(InvalidImage):
        decode_png(buffer.getvalue())


def test_decode_png_refuses_an_oversized_image_before_decoding_it():
    buffer = io.BytesIO()
    Image.new("L", (5000, 1)).save(buffer, format="PNG")
    with pytest.raises(InvalidImage, match="larger"):
        decode_png(buffer.getvalue())


def test_encode_png_rejects_non_images():
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4), np.uint8))


@pytest.mark.parametrize("shape", [(1024, 1024, 4), (100, 40, 3)])
def test_jpeg_preview_is_a_small_jpeg(shape):
    data = encode_jpeg_preview(_image(shape=shape), max_side=128)
    with Image.open(io.BytesIO(data)) as preview:
        assert preview.format == "JPEG"
        assert max(preview.size) <= 128
        width, height = preview.size
        assert abs(width / height - shape[1] / shape[0]) < 0.1


def _idat_rows(png: bytes, row_bytes: int) -> np.ndarray:
    """The decompressed image data of a PNG, one row (filter byte first) per line."""
    data, position = b"", 8
    while position < len(png):
        (length,), kind = struct.unpack(">I", png[position : position + 4]), png[position + 4 : position + 8]
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    return np.frombuffer(zlib.decompress(data), np.uint8).reshape(-1, 1 + row_bytes)


def test_a_png_written_in_blocks_is_the_png_written_at_once():
    rgba = _image(2, shape=(37, 19, 4))
    writer = PngWriter(19, 37, 4)
    for first in range(0, 37, 8):
        writer.add(rgba[first : first + 8])
    assert writer.finish() == encode_png(rgba)


def test_the_stream_is_deflated_by_the_callers_deflater_at_the_callers_level():
    asked: list[int] = []

    def deflater(level: int):
        asked.append(level)
        return zlib.compressobj(level, zlib.DEFLATED, 15, 9, zlib.Z_FIXED)  # a stream zlib's default never writes

    rgba = _image(4, shape=(32, 16, 4))
    png = encode_png(rgba, level=7, deflater=deflater)
    assert asked == [7] and png != encode_png(rgba, level=7)
    assert np.array_equal(decode_png(png), rgba)


def test_every_row_is_filtered_with_up():
    # Smooth rows differ little from the row above: the filter that makes a tile's PNG cheap.
    rgba = _image(3, shape=(16, 8, 4))
    rows = _idat_rows(encode_png(rgba), 8 * 4)
    assert (rows[:, 0] == 2).all()
    assert np.array_equal(rows[0, 1:], rgba[0].ravel())
    assert np.array_equal(rows[1:, 1:], (rgba[1:].astype(np.int16) - rgba[:-1]).astype(np.uint8).reshape(15, -1))


@pytest.mark.parametrize("channels, mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_png_writer_writes_every_channel_count(channels, mode):
    pixels = _image(4, shape=(9, 11, channels))
    writer = PngWriter(11, 9, channels)
    writer.add(pixels)
    with Image.open(io.BytesIO(writer.finish())) as image:
        assert image.mode == mode and np.array_equal(np.asarray(image).reshape(9, 11, channels), pixels)


def test_png_writer_refuses_rows_that_do_not_continue_it():
    writer = PngWriter(4, 3, 4)
    for wrong in (np.zeros((1, 5, 4), np.uint8), np.zeros((1, 4, 3), np.uint8), np.zeros((4, 4, 4), np.uint8)):
        with pytest.raises(ValueError):
            writer.add(wrong)
    writer.add(np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="never added"):
        writer.finish()


def _png(header: tuple[int, int, int, int], rows: bytes, *, extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    """A PNG of one IDAT holding `rows` (filter bytes included) as given, with `extra` chunks after IHDR."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))

    width, height, depth, colour = header
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
    middle = b"".join(chunk(kind, data) for kind, data in extra)
    return b"\x89PNG\r\n\x1a\n" + ihdr + middle + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _rows_as_they_are(rgba: np.ndarray, filters: list[int]) -> bytes:
    """`rgba`'s rows as they are, each after the filter byte `filters` gives it: 0 (None) leaves
    them the pixels, as another writer might; 2 (Up) makes them differences from the row above."""
    return b"".join(bytes([kind]) + row.tobytes() for kind, row in zip(filters, rgba, strict=True))


@pytest.fixture
def pillow_opens(monkeypatch) -> list[bytes]:
    """The PNGs decode_png hands to Pillow."""
    opened: list[bytes] = []
    real_open = Image.open

    def spy(stream, *args, **kwargs):
        opened.append(stream.getvalue())
        return real_open(stream, *args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    return opened


def test_a_png_as_written_here_is_read_without_pillow(pillow_opens):
    rgba = _image(5, shape=(33, 21, 4))
    wider = np.full((33, 30, 4), 9, np.uint8)
    assert np.array_equal(decode_png(encode_png(rgba)), rgba)
    assert np.array_equal(decode_png(encode_png(rgba), out=Output((33, 21, 4))), rgba)
    decode_png(encode_png(rgba), out=wider[:, 4:25])
    assert np.array_equal(wider[:, 4:25], rgba) and (wider[:, :4] == 9).all() and (wider[:, 25:] == 9).all()
    assert pillow_opens == []


def test_the_stream_is_inflated_by_the_callers_inflater():
    made: list[object] = []

    def inflater():
        made.append(zlib.decompressobj())
        return made[-1]

    rgba = _image(6, shape=(16, 16, 4))
    assert np.array_equal(decode_png(encode_png(rgba), inflater=inflater), rgba)
    assert len(made) == 1 and made[0].eof


@pytest.mark.parametrize(
    "filters", [[0] * 12, [2] + [0] * 11, [2] * 11 + [0]], ids=["none", "up-then-none", "up-but-the-last"]
)
def test_rows_filtered_otherwise_are_pillows_to_read(pillow_opens, filters):
    rgba = _image(7, shape=(12, 10, 4))
    png = _png((10, 12, 8, 6), _rows_as_they_are(rgba, filters))
    decoded = decode_png(png)
    assert pillow_opens == [png]
    # Pillow undoes the Up rows against what it decoded above them; the None rows are the bytes.
    up = np.array(filters) == 2
    expected = rgba.copy()
    for row in range(12):
        if up[row]:
            expected[row] = rgba[row] + (expected[row - 1] if row else 0)
    assert np.array_equal(decoded, expected)


@pytest.mark.parametrize(
    "layout",
    ["rgb", "16-bit", "text-chunk", "bad-crc", "long-stream", "short-stream"],
)
def test_any_other_png_is_pillows_to_read_or_refuse(pillow_opens, layout):
    rgba = _image(8, shape=(6, 5, 4))
    rows = _rows_as_they_are(rgba, [2] * 6)  # the bytes taken as Up differences: any bytes are pixels
    png = {
        "rgb": _png((5, 6, 8, 2), _rows_as_they_are(rgba[..., :3], [2] * 6)),
        "16-bit": _png((5, 3, 16, 6), rows),
        "text-chunk": _png((5, 6, 8, 6), rows, extra=((b"tEXt", b"Comment\0hello"),)),
        "bad-crc": encode_png(rgba)[:-1] + bytes([encode_png(rgba)[-1] ^ 1]),
        "long-stream": _png((5, 6, 8, 6), rows + b"\2" + bytes(20)),
        "short-stream": _png((5, 6, 8, 6), rows[:-21]),
    }[layout]
    with contextlib.suppress(InvalidImage):  # Pillow's to say: the test is that it was given the PNG
        decode_png(png)
    assert pillow_opens == [png]


def test_an_oversized_png_as_written_here_is_refused_before_inflating():
    def inflater():
        raise AssertionError("inflated")

    header = struct.pack(">IIBBBBB", 5000, 1, 8, 6, 0, 0, 0)
    png = encode_png(_image(shape=(1, 4, 4)))
    png = png[:16] + header + struct.pack(">I", zlib.crc32(header, zlib.crc32(b"IHDR"))) + png[33:]
    with pytest.raises(InvalidImage, match="larger"):
        decode_png(png, inflater=inflater)
