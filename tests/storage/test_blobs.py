import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest

from storage import LocalBlobStore, is_blob_key, open_blob_store
from storage.blobs import CHUNK_BYTES
from tests.storage.test_s3_blobs import bucket, endpoint, s3_env  # noqa: F401 (fixtures of the S3 cases)


async def test_put_is_content_addressed_and_write_once(tmp_path):
    async with LocalBlobStore(tmp_path / "blobs") as store:
        key = await store.put(b"tile bytes")
        assert key == hashlib.sha256(b"tile bytes").hexdigest()
        path = next((tmp_path / "blobs").rglob(f"{key}.png"))
        before = path.stat().st_mtime_ns
        assert await store.put(b"tile bytes") == key
        assert path.stat().st_mtime_ns == before
        assert await store.get(key) == b"tile bytes"
        assert not list((tmp_path / "blobs").rglob(".tmp-*"))


async def test_unknown_or_malformed_keys_read_as_missing(tmp_path):
    async with LocalBlobStore(tmp_path) as store:
        assert await store.get("0" * 64) is None
        assert await store.get("../../etc/passwd") is None
        assert not is_blob_key("A" * 64)


@pytest.fixture(params=["local", "s3"])
async def any_store(request, tmp_path):
    if request.param == "local":
        async with LocalBlobStore(tmp_path / "blobs") as store:
            yield store
    else:
        bucket = request.getfixturevalue("bucket")  # a fresh bucket on a local S3 server
        async with open_blob_store(f"s3://{bucket}/tiles/v1", tmp_path) as store:
            yield store


async def test_scan_lists_each_blob_with_its_write_time_and_delete_removes_it(any_store):
    before = datetime.now(UTC) - timedelta(seconds=5)
    first, second = await any_store.put(b"first"), await any_store.put(b"second")
    await any_store.check()  # leaves a probe behind on S3, which is no blob
    found = {key: written async for key, written in any_store.scan()}
    assert set(found) == {first, second}
    assert all(before <= written <= datetime.now(UTC) + timedelta(seconds=5) for written in found.values())
    await any_store.delete(first)
    await any_store.delete(first)  # already gone: not an error
    assert await any_store.get(first) is None and await any_store.get(second) == b"second"
    assert [key async for key, _ in any_store.scan()] == [second]


async def test_open_reads_a_blob_in_bounded_chunks(any_store):
    data = os.urandom(CHUNK_BYTES * 2 + 10)
    key = await any_store.put(data)
    chunks = [chunk async for chunk in await any_store.open(key)]
    assert b"".join(chunks) == data and len(chunks) >= 2
    assert await any_store.open("0" * 64) is None and await any_store.open("../x") is None
