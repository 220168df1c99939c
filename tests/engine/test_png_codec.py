from __future__ import annotations

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
