import hashlib

from storage import LocalBlobStore, is_blob_key


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
