import numpy as np
import pytest

import engine
from engine import encode_png
from engine.generators import _mock_paint
from server.play.tiles import TileCache, encode_tile
from storage import LocalBlobStore


def _tile(value: int, side: int = 8) -> np.ndarray:
    tile = np.full((side, side, 4), value, np.uint8)
    tile[..., 3] = 255
    return tile


async def test_decoded_tiles_are_shared_read_only_and_bounded(tmp_path):
    async with LocalBlobStore(tmp_path) as blobs:
        keys = [await blobs.put(encode_png(_tile(v))) for v in (10, 20, 30)]
        cache = TileCache(blobs, max_bytes=2 * _tile(0).nbytes)
        first = await cache.get(keys[0], 8)
        assert np.array_equal(first, _tile(10)) and not first.flags.writeable
        assert await cache.get(keys[0], 8) is first and (cache.hits, cache.misses) == (1, 1)
        await cache.get(keys[1], 8)
        await cache.get(keys[2], 8)  # over budget: the least recently used goes
        await cache.get(keys[0], 8)
        assert cache.misses == 4
        with pytest.raises(ValueError):
            first[0, 0, 0] = 1


async def test_a_missing_blob_is_an_error_not_an_empty_tile(tmp_path):
    async with LocalBlobStore(tmp_path) as blobs:
        with pytest.raises(RuntimeError):
            await TileCache(blobs).get("0" * 64, 8)


async def test_a_blob_that_is_not_a_tile_of_the_rooms_size_is_refused(tmp_path):
    async with LocalBlobStore(tmp_path) as blobs:
        key = await blobs.put(encode_png(_tile(10)))
        with pytest.raises(engine.InvalidImage):
            await TileCache(blobs).get(key, 16)


def test_a_tiles_png_is_smaller_than_zlibs_fastest_and_decodes_to_the_tile():
    # A painted tile, as steps make them: smooth, where the deflater's choice shows.
    window = _mock_paint.paint(np.zeros((256, 256, 4), np.uint8), "a tidal pool", 3).image
    tile = engine.cut_tile(window, 128)
    png = encode_tile(tile)
    assert np.array_equal(engine.decode_png(png), tile)
    assert len(png) < len(encode_png(tile))  # zlib's level 1, which tiles were deflated at before
