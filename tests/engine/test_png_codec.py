from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from engine import InvalidImage, decode_png, encode_jpeg_preview, encode_png


def _image(seed: int = 0, shape=(48, 64, 4)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_png_round_trips_rgba_exactly():
    rgba = _image()
    assert np.array_equal(decode_png(encode_png(rgba)), rgba)


def test_png_of_rgb_decodes_as_opaque_rgba():
    rgb = _image(shape=(8, 8, 3))
    decoded = decode_png(encode_png(rgb))
    assert np.array_equal(decoded[..., :3], rgb) and (decoded[..., 3] == 255).all()


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
